import CLibUV

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
        delegate?.connectionDidClose(self)
    }
}

/// One TCP socket. Its memory is the uv_tcp_t (248 bytes on x86_64 with libuv 1.44) plus this
/// object (16-byte header, handle pointer, cork buffer: 32 bytes); an idle connection owns no
/// read or write buffer.
///
/// A subclass receives the socket's events by overriding the `did...` methods, so a server keeps
/// one object per connection; `DelegatingConnection` hands them to a delegate object instead.
open class TCPConnection: Handle {
    /// Bytes sent with `send` during this iteration (empty, no storage, when idle).
    var corkBuffer: [UInt8] = []
    /// What the kernel did not take, in order (nil while the peer keeps up: the usual case).
    var backlog: Backlog?
    /// Corked buffers always have capacity; an uncorked connection holds an empty array.
    var hasCork: Bool { corkBuffer.capacity != 0 }

    public init(loop: Loop) throws(UVError) {
        try super.init(loop: loop, type: UV_TCP) { memory in
            uv_tcp_init(loop.raw, memory.assumingMemoryBound(to: uv_tcp_t.self))
        }
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { handle.asStream }

    /// Bytes not yet taken by the kernel: held in user space, plus those corked for this iteration.
    public var queuedBytes: Int { heldBytes + corkBuffer.count }

    override func didClose() {
        super.didClose()
        corkBuffer = []
        backlog = nil   // libuv cancelled the batch in flight before this
        didFinishClosing()
    }

    /// Closes at once with a TCP reset: no FIN, and no TIME_WAIT left on this side. For aborting
    /// (a load script dropping thousands of sockets), not for polite ends.
    public func closeWithReset() {
        guard !isClosing else { return }
        willClose()
        if uv_tcp_close_reset(handle.asTCP, handleDidClose) != 0 {
            uv_close(handle, handleDidClose)   // a shutdown is under way: libuv refuses the reset
        }
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

    public func startReading() throws(UVError) {
        try UVError.check(uv_read_start(stream, allocateNothing, readCallback))
    }

    public func stopReading() {
        uv_read_stop(stream)
    }

    // MARK: Options

    public func setNoDelay(_ enabled: Bool) throws(UVError) {
        try UVError.check(uv_tcp_nodelay(handle.asTCP, enabled ? 1 : 0))
    }

    public func setKeepAlive(seconds: UInt32?) throws(UVError) {
        try UVError.check(uv_tcp_keepalive(handle.asTCP, seconds == nil ? 0 : 1, seconds ?? 0))
    }

    /// The peer's address as "ip:port" (IPv6 as "[ip]:port"), or nil when not connected.
    public var peerAddress: String? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                uv_tcp_getpeername(handle.asTCP, $0, &length)
            }
        }
        guard result == 0 else { return nil }
        return SocketAddress(storage).description
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
    /// `shared` is retained (not copied) until libuv completes the write.
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
        if let backlog {   // behind what already waits, in order (encoded when handed to libuv)
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
                let result = tether_try_send(stream, bufs, count)
                if result == Int32(UV_EAGAIN.rawValue) || result == Int32(UV_ENOSYS.rawValue) { return 0 }
                return Int(result)
            }
        }
        if written < 0 { return false }
        if written == total { return true }
        return holdRest(first, second, skipping: written, shared: shared)
    }

    /// Starts a backlog with what `tether_try_send` left. The rest of a unit the kernel took in part
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
        let result = tether_try_send(stream, &buffer, 1)
        let written = result == Int32(UV_EAGAIN.rawValue) || result == Int32(UV_ENOSYS.rawValue) ? 0 : Int(result)
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

    func pumpBacklog(_ backlog: Backlog) -> Bool {
        encodesOutput ? backlog.pump(stream) { self.encode($0, $1) } : backlog.pump(stream)
    }

    /// Where the first unit (frame, response) starting at or after `offset` in `bytes` begins.
    /// The default treats a write as one unit; subclasses that frame their output say better.
    open func unitBoundary(in bytes: UnsafeRawBufferPointer, atOrAfter offset: Int) -> Int { bytes.count }

    /// Where the unit holding byte `offset` of `bytes` begins (the default: a write is one unit).
    open func unitStart(in bytes: UnsafeRawBufferPointer, containing offset: Int) -> Int { 0 }

    func backlogDidWrite(status: Int32) {
        guard let backlog else { return }
        backlog.finishBatch()
        guard status == 0, !isClosing else { return }
        if !pumpBacklog(backlog) { return close() }
        guard backlog.isIdle else { return }
        self.backlog = nil
        if backlog.shutdownRequested { sendFIN() }
        didDrain()
    }

    /// Bytes held in user space: the batch libuv has in flight (its unsent part) and what waits behind it.
    var heldBytes: Int { backlog.map { uv_stream_get_write_queue_size(stream) + $0.waitingBytes } ?? 0 }

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
    /// still goes out, so a frame written after this follows it closely.
    public func dropUnsent(_ visit: (UnsafeRawBufferPointer) -> Void) {
        if hasCork {
            corkBuffer.withUnsafeBytes { visit($0) }
            var buffer = corkBuffer
            corkBuffer = []
            loop.recycle(&buffer)
        }
        backlog?.dropWaiting(visit)
    }

    /// Shows every unit the kernel has not fully taken, with the count of its bytes it did take.
    public func forEachUnsent(_ visit: (UnsafeRawBufferPointer, Int) -> Void) {
        backlog?.forEachUnsent(unsentInFlight: uv_stream_get_write_queue_size(stream), visit)
        if hasCork { corkBuffer.withUnsafeBytes { visit($0, 0) } }
    }

    /// Sets SO_SNDBUF (the kernel doubles it), bounding what the kernel holds for a slow peer.
    public func setSendBufferSize(_ bytes: Int) throws(UVError) {
        var value = Int32(clamping: bytes)
        try UVError.check(uv_send_buffer_size(handle, &value))
    }

    // MARK: Shutdown

    /// Sends FIN once everything queued is written; reading goes on until the peer's EOF.
    public func shutdown() {
        guard !isClosing else { return }
        if hasCork { flushCork() }
        if let backlog { return backlog.shutdownRequested = true }
        sendFIN()
    }

    private func sendFIN() {
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        if uv_shutdown(request, stream, { request, _ in request?.deallocate() }) < 0 {
            request.deallocate()
        }
    }
}

private func uvBuffer(_ bytes: UnsafeRawBufferPointer) -> uv_buf_t {
    uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
}

/// Gives libuv no buffer, so it reads nothing and hands the readable socket to `readCallback`
/// (as UV_ENOBUFS), which reads with recv(2): libuv's own read(2) also pays the kernel's VFS hooks.
private func allocateNothing(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int,
                             _ buffer: UnsafeMutablePointer<uv_buf_t>?) {
    buffer!.pointee = uv_buf_init(nil, 0)
}

private func readCallback(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ status: Int,
                          _ buffer: UnsafePointer<uv_buf_t>?) {
    let stream = stream!
    // The handle's retained owner lives until libuv's close callback, which never runs inside this
    // one: borrowed here without reference counting.
    Unmanaged<TCPConnection>.fromOpaque(stream.pointee.data)._withUnsafeGuaranteedRef { connection in
        guard status == Int(UV_ENOBUFS.rawValue) else {   // a failure libuv saw itself
            if status < 0 { connection.readFailed(UVError(Int32(status))) }
            return
        }
        let loop = stream.pointee.loop!
        let (buffer, size) = Unmanaged<Loop>.fromOpaque(loop.pointee.data)._withUnsafeGuaranteedRef { ($0.readBuffer, $0.readBufferSize) }
        // Like libuv: while reads fill the buffer and the owner still reads, up to 32 per wakeup.
        for _ in 0..<32 {
            let count = tether_recv(stream, buffer, size)
            if count > 0 {
                connection.didRead(UnsafeMutableRawBufferPointer(start: buffer, count: count))
                guard count == size, stream.pointee.read_cb != nil, !connection.isClosing else { return }
            } else {
                if count == 0 {
                    connection.readFailed(UVError(Int32(UV_EOF.rawValue)))
                } else if count != Int(UV_EAGAIN.rawValue) {
                    connection.readFailed(UVError(Int32(count)))
                }
                return
            }
        }
    }
}

extension TCPConnection {
    /// EOF or a socket error: reading stops and the subclass hears of it.
    fileprivate func readFailed(_ error: UVError) {
        stopReading()
        didEnd(with: error.isEOF ? nil : error)
    }
}
