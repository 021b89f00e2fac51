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

    override public func didRead(_ bytes: UnsafeMutableRawBufferPointer) { delegate?.connection(self, didRead: bytes) }
    override public func didEnd(with error: UVError?) { delegate?.connection(self, didEndWith: error) }
    override public func didDrain() { delegate?.connectionDidDrain(self) }
    override public func didFinishClosing() {
        let delegate = self.delegate
        self.delegate = nil   // the delegate often owns this connection: break the cycle
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
    /// Corked buffers always have capacity; an uncorked connection holds an empty array.
    var hasCork: Bool { corkBuffer.capacity != 0 }

    public init(loop: Loop) throws(UVError) {
        try super.init(loop: loop, type: UV_TCP) { memory in
            uv_tcp_init(loop.raw, memory.assumingMemoryBound(to: uv_tcp_t.self))
        }
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { handle.asStream }

    /// Bytes not yet taken by the kernel: queued in libuv, plus those corked for this iteration.
    public var queuedBytes: Int { uv_stream_get_write_queue_size(stream) + corkBuffer.count }

    override func didClose() {
        super.didClose()
        corkBuffer = []
        didFinishClosing()
    }

    /// Closes at once with a TCP reset: no FIN, and no TIME_WAIT left on this side. For aborting
    /// (a load script dropping thousands of sockets), not for polite ends.
    public func closeWithReset() {
        guard !isClosing else { return }
        if uv_tcp_close_reset(handle.asTCP, handleDidClose) != 0 {
            close()   // a shutdown is under way: libuv refuses the reset
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
        try UVError.check(uv_read_start(stream, allocateFromLoop, readCallback))
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
        var buffers = (uvBuffer(first), uvBuffer(second))
        let written: Int = withUnsafeMutablePointer(to: &buffers) { pair in
            pair.withMemoryRebound(to: uv_buf_t.self, capacity: 2) { bufs in
                let count: UInt32 = second.isEmpty ? 1 : 2
                let result = uv_try_write(stream, bufs, count)
                if result == Int32(UV_EAGAIN.rawValue) || result == Int32(UV_ENOSYS.rawValue) { return 0 }
                return Int(result)
            }
        }
        if written < 0 { return false }
        if written == total { return true }
        return enqueue(first, second, skipping: written, shared: shared)
    }

    /// Queues what `uv_try_write` left: bytes of `first` (and of `second` unless shared) are
    /// copied behind the request; shared bytes are referenced and their owner retained.
    private func enqueue(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                         skipping written: Int, shared: SharedBuffer?) -> Bool {
        let firstRest = first.count > written ? UnsafeRawBufferPointer(rebasing: first[written...]) : UnsafeRawBufferPointer(start: nil, count: 0)
        let secondSkip = max(0, written - first.count)
        let secondRest = UnsafeRawBufferPointer(rebasing: second[secondSkip...])
        let copied = firstRest.count + (shared == nil ? secondRest.count : 0)
        let request = WriteRequest.allocate(copying: copied)
        var offset = 0
        if let source = firstRest.baseAddress, !firstRest.isEmpty {
            request.storage.copyMemory(from: source, byteCount: firstRest.count)
        }
        offset += firstRest.count
        var buffers = (uv_buf_t(), uv_buf_t())
        var count: UInt32 = 0
        if shared == nil {
            if !secondRest.isEmpty {
                (request.storage + offset).copyMemory(from: secondRest.baseAddress!, byteCount: secondRest.count)
            }
            buffers.0 = uv_buf_init(request.storage.assumingMemoryBound(to: CChar.self), UInt32(copied))
            count = 1
        } else {
            request.retain(shared!)
            if !firstRest.isEmpty {
                buffers.0 = uv_buf_init(request.storage.assumingMemoryBound(to: CChar.self), UInt32(firstRest.count))
                buffers.1 = uvBuffer(secondRest)
                count = 2
            } else {
                buffers.0 = uvBuffer(secondRest)
                count = 1
            }
        }
        let result = withUnsafeMutablePointer(to: &buffers) { pair in
            pair.withMemoryRebound(to: uv_buf_t.self, capacity: 2) { bufs in
                uv_write(request.raw, stream, bufs, count, didWrite)
            }
        }
        if result < 0 {
            request.free()
            return false
        }
        return true
    }

    // MARK: Shutdown

    /// Sends FIN once everything queued is written; reading goes on until the peer's EOF.
    public func shutdown() {
        guard !isClosing else { return }
        if hasCork { flushCork() }
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        if uv_shutdown(request, stream, { request, _ in request?.deallocate() }) < 0 {
            request.deallocate()
        }
    }
}

private func uvBuffer(_ bytes: UnsafeRawBufferPointer) -> uv_buf_t {
    uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
}

private func allocateFromLoop(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int,
                              _ buffer: UnsafeMutablePointer<uv_buf_t>?) {
    let loop = Unmanaged<Loop>.fromOpaque(handle!.pointee.loop.pointee.data).takeUnretainedValue()
    buffer!.pointee = uv_buf_init(loop.readBuffer.assumingMemoryBound(to: CChar.self), UInt32(loop.readBufferSize))
}

private func readCallback(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ count: Int,
                     _ buffer: UnsafePointer<uv_buf_t>?) {
    let handle = UnsafeMutablePointer<uv_handle_t>(OpaquePointer(stream!))
    let connection = Handle.owner(of: handle) as! TCPConnection
    if count > 0 {
        let bytes = UnsafeMutableRawBufferPointer(start: buffer!.pointee.base, count: count)
        connection.didRead(bytes)
    } else if count < 0 {
        connection.stopReading()
        let error = UVError(Int32(count))
        connection.didEnd(with: error.isEOF ? nil : error)
    }
}

private func didWrite(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    let stream = request!.pointee.handle!
    WriteRequest(raw: request!).free()
    guard status == 0, uv_stream_get_write_queue_size(stream) == 0 else { return }
    let handle = UnsafeMutablePointer<uv_handle_t>(OpaquePointer(stream))
    guard uv_is_closing(handle) == 0 else { return }
    let connection = Handle.owner(of: handle) as! TCPConnection
    connection.didDrain()
}
