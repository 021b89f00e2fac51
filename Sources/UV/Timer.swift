import CLibUV

/// A libuv timer: one-shot (`repeat` 0) or repeating, in milliseconds of loop time.
public final class Timer: Handle {
    private var callback: (() -> Void)?

    public init(loop: Loop) throws(UVError) {
        try super.init(loop: loop, type: UV_TIMER) { memory in
            uv_timer_init(loop.raw, memory.assumingMemoryBound(to: uv_timer_t.self))
        }
    }

    private var timer: UnsafeMutablePointer<uv_timer_t> { UnsafeMutablePointer(OpaquePointer(handle)) }

    public func start(afterMilliseconds timeout: UInt64, repeatEvery interval: UInt64 = 0,
                      _ callback: @escaping () -> Void) {
        guard !isClosing else { return }
        self.callback = callback
        uv_timer_start(timer, { timer in
            let owner = Handle.owner(of: UnsafeMutablePointer(OpaquePointer(timer!))) as! Timer
            owner.callback?()
        }, timeout, interval)
    }

    public func stop() {
        guard !isClosing else { return }
        uv_timer_stop(timer)
    }

    override func didClose() {
        super.didClose()
        callback = nil
    }
}
