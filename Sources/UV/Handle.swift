import CLibUV

/// Base of every libuv handle owner. While the handle is open its `data` holds a retained
/// reference to this object; the close callback releases it, so an owner can never be freed
/// while libuv may still call it (closing from inside one of its own callbacks is safe).
///
/// Its only stored field is the handle pointer: the loop and the closing state are read from
/// libuv, so every connection object stays small.
open class Handle {
    let handle: UnsafeMutablePointer<uv_handle_t>

    /// The loop this handle runs on (which must outlive it).
    public var loop: Loop { Unmanaged<Loop>.fromOpaque(handle.pointee.loop.pointee.data).takeUnretainedValue() }

    /// The loop, borrowed for `body` without reference counting (the loop outlives its handles).
    @inline(__always)
    func withLoop<Result>(_ body: (Loop) throws -> Result) rethrows -> Result {
        try Unmanaged<Loop>.fromOpaque(handle.pointee.loop.pointee.data)._withUnsafeGuaranteedRef(body)
    }

    /// The loop's `context`.
    public var loopContext: UnsafeMutableRawPointer? { withLoop { $0.context } }

    /// The loop's cached clock in milliseconds (`Loop.now`), read without touching the loop object.
    public var loopNow: UInt64 { uv_now(handle.pointee.loop) }

    /// True once `close` was called (and after the handle closed).
    public var isClosing: Bool { uv_is_closing(handle) != 0 }

    init(loop: Loop, type: uv_handle_type, initialize: (UnsafeMutableRawPointer) -> Int32) throws(UVError) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: uv_handle_size(type), alignment: 16)
        handle = memory.bindMemory(to: uv_handle_t.self, capacity: 1)
        let result = initialize(memory)
        if result < 0 {
            memory.deallocate()
            throw UVError(result)
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    deinit { handle.deallocate() }

    /// Closes the handle; the owner is released after libuv's close callback.
    public func close() {
        guard !isClosing else { return }
        willClose()
        startClosing()
    }

    /// Hands the handle to uv_close (a connection may wait until the I/O callbacks are done).
    func startClosing() { uv_close(handle, handleDidClose) }

    /// Called just before the handle starts closing (pending writes are still known here).
    open func willClose() {}

    /// Called once from the close callback; subclasses drop their callbacks here to break cycles.
    func didClose() {}

    static func owner(of handle: UnsafeMutablePointer<uv_handle_t>) -> Handle {
        Unmanaged<Handle>.fromOpaque(handle.pointee.data).takeUnretainedValue()
    }
}

func handleDidClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    let owner = Unmanaged<Handle>.fromOpaque(handle!.pointee.data).takeRetainedValue()
    owner.didClose()
}

extension UnsafeMutablePointer where Pointee == uv_handle_t {
    var asStream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutablePointer<uv_stream_t>(OpaquePointer(self)) }
    var asTCP: UnsafeMutablePointer<uv_tcp_t> { UnsafeMutablePointer<uv_tcp_t>(OpaquePointer(self)) }
    var asPoll: UnsafeMutablePointer<uv_poll_t> { UnsafeMutablePointer<uv_poll_t>(OpaquePointer(self)) }
}
