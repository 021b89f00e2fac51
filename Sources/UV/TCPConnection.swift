import CLibUV
import Glibc

/// What a connection reports to the layer above. All calls happen on the loop.
public protocol TCPConnectionDelegate: AnyObject {
    /// Bytes just read, in the loop's shared read buffer: valid (and mutable) only during this call.
    func connection(_ connection: DelegatingConnection, didRead bytes: UnsafeMutableRawBufferPointer)
    /// The peer closed its side (`error == nil`) or the socket failed.
    func connection(_ connection: DelegatingConnection, didEndWith error: UVError?)
    /// Everything queued has been written.
    func connectionDidDrain(_ connection: DelegatingConnection)
    /// The handle is closed; no more calls follow.
    func connectionDidClose(_ connection: DelegatingConnection)
}

extension TCPConnectionDelegate {
    public func connectionDidDrain(_ connection: DelegatingConnection) {}
    public func connectionDidClose(_ connection: DelegatingConnection) {}
}

/// A connection that hands its events to a delegate object: for clients and tests that compose
/// rather than subclass (the listener and `connect` make these unless told otherwise).
public final class DelegatingConnection: TCPConnection {
    public var delegate: (any TCPConnectionDelegate)?
    /// Turns plaintext into wire bytes (a client's TLS records) on its way to the socket; nil
    /// (the default) writes plaintext as it is.
    public var encoder: ((UnsafeRawBufferPointer, (UnsafeRawBufferPointer) -> Void) -> Void)?
    /// The caller of `connect`, until the socket connects or fails.
    var pendingConnect: ((Result<DelegatingConnection, UVError>) -> Void)?

    override public var encodesOutput: Bool { encoder != nil }
    override public func encode(_ plaintext: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        encoder?(plaintext, emit)
    }

    override public func didRead(_ bytes: UnsafeMutableRawBufferPointer) { delegate?.connection(self, didRead: bytes) }
    override public func didEnd(with error: UVError?) { delegate?.connection(self, didEndWith: error) }
    override public func didDrain() { delegate?.connectionDidDrain(self) }
    override public func didFinishClosing() {
        let delegate = self.delegate
        self.delegate = nil   // the delegate often owns this connection: break the cycle
        encoder = nil
        if let pendingConnect {   // closed while connecting
            self.pendingConnect = nil
            pendingConnect(.failure(UVError(Int32(UV_ECANCELED.rawValue))))
        }
        delegate?.connectionDidClose(self)
    }

    override func socketWritable() {
        if pendingConnect != nil { finishConnecting() } else { super.socketWritable() }
    }
}

/// One TCP socket, watched by a libuv poll handle (160 bytes on x86_64 with libuv 1.44, against 248
/// for a uv_tcp_t): libuv only says when the socket is ready; this object reads, writes and queues
/// itself. Its memory is that handle plus this object (16-byte header, handle pointer, cork buffer,
/// backlog, one byte of state: 41 bytes); an idle connection owns no read or write buffer.
///
/// A subclass receives the socket's events by overriding the `did...` methods, so a server keeps
/// one object per connection; `DelegatingConnection` hands them to a delegate object instead.
open class TCPConnection: Handle {
    /// Bytes sent with `send` during this iteration (empty, no storage, when idle).
    var corkBuffer = CorkBuffer()
    /// What the kernel did not take, in order (nil while the peer keeps up: the usual case).
    var backlog: Backlog?
    /// What libuv watches the socket for, and whether this side sent its FIN.
    var socketState = SocketState()
    /// A corked connection holds a buffer; an uncorked one none.
    var hasCork: Bool { corkBuffer.isAllocated }

    struct SocketState: OptionSet {
        let rawValue: UInt8
        init(rawValue: UInt8 = 0) { self.rawValue = rawValue }
        /// The owner reads: libuv watches for input.
        static let reading = SocketState(rawValue: 1 << 0)
        /// A batch of the backlog (or a connect) waits for the socket: libuv watches for room.
        static let awaitingWritable = SocketState(rawValue: 1 << 1)
        static let finSent = SocketState(rawValue: 1 << 2)
        /// The peer's FIN was read.
        static let peerEnded = SocketState(rawValue: 1 << 3)
        /// `close` was called (uv_close may wait for the end of the I/O callbacks: `startClosing`).
        static let closing = SocketState(rawValue: 1 << 4)
        /// libuv is told what to watch when the I/O callbacks are done (`watchSocket`).
        static let watchPending = SocketState(rawValue: 1 << 5)
    }

    /// True once the peer sent its FIN: it sends nothing more, though it may still read.
    public var peerHasEnded: Bool { socketState.contains(.peerEnded) }

    /// Adopts `socket`, a connected (or connecting) non-blocking TCP socket, which is closed with the
    /// handle. If this throws, the caller still owns it.
    public init(loop: Loop, socket: Int32) throws(UVError) {
        try super.init(loop: loop, type: UV_POLL) { memory in
            uv_poll_init_socket(loop.raw, memory.assumingMemoryBound(to: uv_poll_t.self), socket)
        }
        loop.makeOwnHook()
    }

    /// The cork buffer went back to the loop when the handle closed; this frees one never closed.
    deinit { corkBuffer.deallocate() }

    /// True once `close` was called, whether or not libuv has been told yet.
    override public final var isClosing: Bool { socketState.contains(.closing) || uv_is_closing(handle) != 0 }

    /// During I/O callbacks uv_close waits for their end (see `Loop.closeAfterIO`): the close
    /// callback still comes in this loop iteration, and until then the socket is ignored.
    override func startClosing() {
        socketState.insert(.closing)
        withLoop { loop in
            if loop.inIOCallbacks {
                loop.closesAfterIO.append(self)
            } else {
                uv_close(handle, handleDidClose)
            }
        }
    }

    var poll: UnsafeMutablePointer<uv_poll_t> { handle.asPoll }
    /// The socket's descriptor (open until the close callback).
    var socket: Int32 { tether_poll_fd(poll) }

    /// Bytes not yet taken by the kernel: held in user space, plus those corked for this iteration.
    public var queuedBytes: Int { heldBytes + corkBuffer.count }

    override func didClose() {
        super.didClose()
        Glibc.close(socket)   // a poll handle leaves its descriptor to its owner
        if hasCork { withLoop { $0.recycle(corkBuffer.take()) } }
        backlog = nil
        didFinishClosing()
    }

    /// Closes at once with a TCP reset: no FIN, and no TIME_WAIT left on this side. For aborting
    /// (a load script dropping thousands of sockets), not for polite ends.
    public func closeWithReset() {
        guard !isClosing else { return }
        willClose()
        // As libuv's uv_tcp_close_reset: no reset once a shutdown was asked for; a plain close then.
        if !socketState.contains(.finSent) {
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(socket, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        }
        startClosing()
    }

    // MARK: Events (subclasses override what they need)

    /// Bytes just read, in the loop's shared read buffer: valid (and mutable) only during this call.
    open func didRead(_ bytes: UnsafeMutableRawBufferPointer) {}
    /// The peer closed its side (`error == nil`) or the socket failed. The default closes.
    open func didEnd(with error: UVError?) { close() }
    /// Everything queued has been written.
    open func didDrain() {}
    /// The handle is closed; no more calls follow.
    open func didFinishClosing() {}

    // MARK: Reading

    /// Starts reading (the errors are uv_read_start's: EINVAL once closing, EALREADY when reading).
    public func startReading() throws(UVError) {
        guard !isClosing else { throw UVError(Int32(UV_EINVAL.rawValue)) }
        guard !socketState.contains(.reading) else { throw UVError(Int32(UV_EALREADY.rawValue)) }
        socketState.insert(.reading)
        try watchSocket()
    }

    public func stopReading() {
        guard socketState.contains(.reading) else { return }
        socketState.remove(.reading)
        if !isClosing { try? watchSocket() }
    }

    /// Has libuv watch the socket for what `socketState` asks (for nothing: it stops watching).
    ///
    /// A socket not watched yet (a connection just accepted) that is to be watched from inside the
    /// I/O callbacks is handed to libuv once they are done: uv_poll_start there walks the current
    /// epoll batch (up to 1,024 events) to forget the descriptor's, and a socket not watched has
    /// none; libuv registers it with epoll at the next poll either way. Later changes before then
    /// are folded into that one call.
    func watchSocket() throws(UVError) {
        if socketState.contains(.watchPending) { return }
        if uv_is_active(handle) == 0 && !socketState.isDisjoint(with: [.reading, .awaitingWritable]) {
            let deferred: Bool = withLoop { loop in
                guard loop.inIOCallbacks else { return false }
                loop.watchesAfterIO.append(self)
                return true
            }
            if deferred {
                socketState.insert(.watchPending)
                return
            }
        }
        try startWatch()
    }

    /// The watch asked for during the I/O callbacks (the connection may have closed since).
    func startPendingWatch() {
        guard socketState.contains(.watchPending) else { return }
        socketState.remove(.watchPending)
        guard !isClosing, !socketState.isDisjoint(with: [.reading, .awaitingWritable]) else { return }
        do { try startWatch() } catch { close() }   // uv_poll_start fails only for a descriptor watched twice
    }

    private func startWatch() throws(UVError) {
        var events: Int32 = 0
        if socketState.contains(.reading) { events |= Int32(UV_READABLE.rawValue) }
        if socketState.contains(.awaitingWritable) { events |= Int32(UV_WRITABLE.rawValue) }
        try UVError.check(uv_poll_start(poll, events, pollCallback))
    }

    /// Returns false if libuv refused to watch.
    @discardableResult
    func watchWritable(_ on: Bool) -> Bool {
        guard socketState.contains(.awaitingWritable) != on else { return true }
        if on { socketState.insert(.awaitingWritable) } else { socketState.remove(.awaitingWritable) }
        guard !isClosing else { return true }
        do { try watchSocket() } catch { return false }
        return true
    }

    /// libuv saw the socket ready, or failed (`status` < 0: libuv then stops watching; reading or
    /// writing learns the error, as they would on a stream).
    @inline(__always)
    final func socketReady(status: Int32, events: Int32) {
        let state = socketState
        guard !state.contains(.closing) else { return }   // closed earlier in these callbacks
        let readable = events & Int32(UV_READABLE.rawValue) != 0
        let writable = events & Int32(UV_WRITABLE.rawValue) != 0
        // A hang-up comes without either: both sides look.
        if state.contains(.reading) && (readable || !writable) { readAvailable() }
        if state.contains(.awaitingWritable) && (writable || !readable) && !isClosing { socketWritable() }
        if status < 0 && !isClosing && uv_is_active(handle) == 0 && !socketState.isDisjoint(with: [.reading, .awaitingWritable]) {
            try? watchSocket()   // still wanted: the error shows again on the next turn
        }
    }

    /// Reads what the socket holds into the loop's shared buffer: like libuv, while reads fill
    /// the buffer and the owner still reads, up to 32 times.
    private func readAvailable() {
        let socket = self.socket
        let (buffer, size) = withLoop { ($0.readBuffer, $0.readBufferSize) }
        defer { withLoop { $0.didServeRead() } }
        for _ in 0..<32 {
            let count = tether_recv(socket, buffer, size)
            if count > 0 {
                didRead(UnsafeMutableRawBufferPointer(start: buffer, count: count))
                guard count == size, socketState.contains(.reading), !isClosing else { return }
            } else {
                if count == 0 {
                    readFailed(UVError(Int32(UV_EOF.rawValue)))
                } else if count != Int(UV_EAGAIN.rawValue) {
                    readFailed(UVError(Int32(count)))
                }
                return
            }
        }
    }

    /// The socket has room (or failed): the batch in flight goes on, and the next one behind it.
    func socketWritable() {
        guard let backlog else {
            watchWritable(false)
            return
        }
        while backlog.hasBatch {
            let status = backlog.send(to: socket)
            if status == Int32(UV_EAGAIN.rawValue) { return }
            backlogDidWrite(status: status)
            guard status == 0, self.backlog === backlog, !isClosing else { return }
        }
    }

    // MARK: Options

    public func setNoDelay(_ enabled: Bool) throws(UVError) {
        var on: Int32 = enabled ? 1 : 0
        if setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw UVError(-errno)
        }
    }

    /// The peer's address as "ip:port" (IPv6 as "[ip]:port"), or nil when not connected.
    public var peerAddress: String? {
        peerSocketAddress?.description
    }

    var peerSocketAddress: SocketAddress? {
        guard !isClosing else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(socket, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage) : nil
    }

    // MARK: Writing

    /// Writes `bytes`; what the kernel does not take at once is copied and queued.
    /// Returns false if the connection is closing or the socket failed.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        write(bytes, UnsafeRawBufferPointer(start: nil, count: 0), shared: nil)
    }

    /// Writes `first` then `second` in one writev, without joining them first.
    @discardableResult
    public func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Bool {
        write(first, second, shared: nil)
    }

    /// Writes `prefix` then all of `shared`. If the kernel does not take everything at once,
    /// `shared` is retained (not copied) until the socket has taken it.
    @discardableResult
    public func write(prefix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                      shared: SharedBuffer) -> Bool {
        write(prefix, shared.bytes, shared: shared)
    }

    private func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                       shared: SharedBuffer?) -> Bool {
        guard !isClosing else { return false }
        if hasCork { flushCork() }
        return writeNow(first, second, shared: shared)
    }

    func writeNow(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, shared: SharedBuffer?) -> Bool {
        let total = first.count + second.count
        if total == 0 { return true }
        if let backlog {   // behind what already waits, in order (encoded when it goes in flight)
            if let shared, first.isEmpty {
                backlog.append(referencing: second, of: shared)
            } else {
                backlog.append(copying: first)
                backlog.append(copying: second)
            }
            return true
        }
        if encodesOutput {
            var written = true
            encode(first) { written = writeEncoded($0) && written }
            encode(second) { written = writeEncoded($0) && written }
            return written
        }
        var buffers = (uvBuffer(first), uvBuffer(second))
        let written: Int = withUnsafeMutablePointer(to: &buffers) { pair in
            pair.withMemoryRebound(to: uv_buf_t.self, capacity: 2) { bufs in
                let count: UInt32 = second.isEmpty ? 1 : 2
                let result = tether_send(socket, bufs, count)
                return result == Int32(UV_EAGAIN.rawValue) ? 0 : Int(result)
            }
        }
        if written < 0 { return false }
        if written == total { return true }
        return holdRest(first, second, skipping: written, shared: shared)
    }

    /// Starts a backlog with what `tether_send` left. The rest of a unit the kernel took in part
    /// is kept apart (it must be sent whole); what follows starts at a unit boundary.
    private func holdRest(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                          skipping written: Int, shared: SharedBuffer?) -> Bool {
        let backlog = Backlog()
        self.backlog = backlog
        if first.isEmpty || second.isEmpty {
            let single = first.isEmpty ? second : first
            let boundary = written == 0 ? 0 : min(max(unitBoundary(in: single, atOrAfter: written), written), single.count)
            // The unit the kernel took in part goes whole, its taken head kept to name it by.
            let start = written == 0 ? 0 : min(unitStart(in: single, containing: written), written)
            let unit = UnsafeRawBufferPointer(rebasing: single[start..<boundary])
            let rest = UnsafeRawBufferPointer(rebasing: single[boundary...])
            if let shared, first.isEmpty {
                backlog.append(referencingRestOf: unit, taken: written - start, of: shared)
                backlog.append(referencing: rest, of: shared)
            } else {
                backlog.append(copyingRestOf: unit, taken: written - start)
                backlog.append(copying: rest)
            }
        } else {
            // Two buffers (a rare path): the remainder is kept as one unit that must go whole.
            var joined = [UInt8](UnsafeRawBufferPointer(rebasing: first[min(written, first.count)...]))
            joined += UnsafeRawBufferPointer(rebasing: second[max(0, written - first.count)...])
            joined.withUnsafeBytes { backlog.append(copying: $0, continuesUnit: true) }
        }
        return pumpBacklog(backlog)
    }

    // MARK: Encoding (TLS)

    /// True when a subclass turns plaintext into wire bytes (TLS records) before the socket.
    open var encodesOutput: Bool { false }

    /// Turns `plaintext` into wire bytes, handing them to `emit` (only called when `encodesOutput`).
    open func encode(_ plaintext: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {}

    /// Writes bytes already in wire form (TLS records, handshake messages): never encoded again,
    /// never dropped. Returns false if the connection is closing or the socket failed.
    @discardableResult
    public func writeEncoded(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !isClosing else { return false }
        guard !bytes.isEmpty else { return true }
        if let backlog {
            if encodesOutput { backlog.encodeWaiting { self.encode($0, $1) } }
            backlog.append(copying: bytes, continuesUnit: true, encoded: true)
            return true
        }
        var buffer = uvBuffer(bytes)
        let result = tether_send(socket, &buffer, 1)
        let written = result == Int32(UV_EAGAIN.rawValue) ? 0 : Int(result)
        if written < 0 { return false }
        if written == bytes.count { return true }
        let backlog = Backlog()
        self.backlog = backlog
        backlog.append(copying: UnsafeRawBufferPointer(rebasing: bytes[written...]), continuesUnit: true, encoded: true)
        return pumpBacklog(backlog)
    }

    /// Encodes now what waits in plain form (before the encoder's last words, such as TLS's
    /// close_notify, after which it can encode nothing more).
    public func encodeHeldOutput() {
        if encodesOutput { backlog?.encodeWaiting { self.encode($0, $1) } }
    }

    /// Puts the backlog's next batch in flight, to go out as the socket has room. False if libuv
    /// refused to watch the socket.
    func pumpBacklog(_ backlog: Backlog) -> Bool {
        let started = encodesOutput ? backlog.startBatch { self.encode($0, $1) } : backlog.startBatch()
        return !started || watchWritable(true)
    }

    /// Where the first unit (frame, response) starting at or after `offset` in `bytes` begins.
    /// The default treats a write as one unit; subclasses that frame their output say better.
    open func unitBoundary(in bytes: UnsafeRawBufferPointer, atOrAfter offset: Int) -> Int { bytes.count }

    /// Where the unit holding byte `offset` of `bytes` begins (the default: a write is one unit).
    open func unitStart(in bytes: UnsafeRawBufferPointer, containing offset: Int) -> Int { 0 }

    /// The batch in flight was all sent (`status` 0) or failed (the socket's error: what waits stays
    /// until the connection closes, as after a failed libuv write did).
    func backlogDidWrite(status: Int32) {
        guard let backlog else { return }
        backlog.finishBatch()
        guard status == 0, !isClosing else {
            watchWritable(false)
            return
        }
        if !pumpBacklog(backlog) { return close() }
        guard backlog.isIdle else { return }
        self.backlog = nil
        watchWritable(false)
        if backlog.shutdownRequested { sendFIN() }
        didDrain()
    }

    /// Bytes held in user space: the batch in flight (its unsent part) and what waits behind it.
    var heldBytes: Int { backlog.map { $0.unsentInFlight + $0.waitingBytes } ?? 0 }

    /// Bytes held for the peer that it has not taken: ours, plus the kernel's once a backlog shows
    /// the peer is slow (the kernel's part is otherwise bounded by the send buffer).
    public var bytesHeldForPeer: Int {
        let queued = queuedBytes
        return backlog == nil ? queued : queued + kernelQueuedBytes
    }

    /// Bytes sent but not yet acknowledged or not yet sent by the kernel (SIOCOUTQ): a system
    /// call, so asked only where a backlog shows the peer is slow.
    public var kernelQueuedBytes: Int {
        var fd = uv_os_fd_t()
        guard uv_fileno(handle, &fd) == 0 else { return 0 }
        return Int(max(0, tether_unsent_bytes(fd)))
    }

    /// Drops every unit not yet handed to the kernel (gathered this iteration, or waiting behind
    /// the batch in flight), showing each dropped chunk to `visit` first. The batch in flight
    /// still goes out, so a frame written after this follows it closely. `visit` must not write
    /// to this connection: the gathered bytes it is shown are the cork buffer itself.
    public func dropUnsent(_ visit: (UnsafeRawBufferPointer) -> Void) {
        if hasCork {
            visit(corkBuffer.bytes)
            withLoop { $0.recycle(corkBuffer.take()) }
        }
        backlog?.dropWaiting(visit)
    }

    /// Shows every unit the kernel has not fully taken, with the count of its bytes it did take.
    /// `visit` must not write to this connection (see `dropUnsent`).
    public func forEachUnsent(_ visit: (UnsafeRawBufferPointer, Int) -> Void) {
        backlog?.forEachUnsent(visit)
        if hasCork { visit(corkBuffer.bytes, 0) }
    }

    /// Sets SO_SNDBUF (the kernel doubles it), bounding what the kernel holds for a slow peer.
    public func setSendBufferSize(_ bytes: Int) throws(UVError) {
        var value = Int32(clamping: bytes)
        if setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw UVError(-errno)
        }
    }

    // MARK: Shutdown

    /// Sends FIN once everything queued is written; reading goes on until the peer's EOF.
    public func shutdown() {
        guard !isClosing else { return }
        if hasCork { flushCork() }
        if let backlog { return backlog.shutdownRequested = true }
        sendFIN()
    }

    /// Sends FIN now: nothing is held in user space by the time this is called.
    private func sendFIN() {
        guard !socketState.contains(.finSent) else { return }
        socketState.insert(.finSent)
        Glibc.shutdown(socket, Int32(SHUT_WR))
    }
}

private func uvBuffer(_ bytes: UnsafeRawBufferPointer) -> uv_buf_t {
    uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
}

private func pollCallback(_ poll: UnsafeMutablePointer<uv_poll_t>?, _ status: Int32, _ events: Int32) {
    // The handle's retained owner lives until libuv's close callback, which never runs inside this
    // one: borrowed here without reference counting.
    Unmanaged<TCPConnection>.fromOpaque(poll!.pointee.data)._withUnsafeGuaranteedRef { connection in
        connection.socketReady(status: status, events: events)
    }
}

extension TCPConnection {
    /// EOF or a socket error: reading stops and the subclass hears of it. libuv is told after
    /// `didEnd`, and only if the connection stays open: most close it, which stops the watch anyway
    /// (each change of what libuv watches costs an epoll_ctl).
    fileprivate func readFailed(_ error: UVError) {
        socketState.remove(.reading)
        if error.isEOF { socketState.insert(.peerEnded) }
        didEnd(with: error.isEOF ? nil : error)
        if !isClosing { try? watchSocket() }
    }
}
