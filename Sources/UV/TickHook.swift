import CLibUV

/// Runs a callback once per loop iteration, right after that iteration's I/O callbacks (a uv_check
/// handle), and again just before the loop next waits for I/O (a uv_prepare handle): the place to
/// flush work gathered during the tick. The second run catches what timers and close callbacks
/// gathered, which would otherwise wait in poll until the next wake-up (up to a timer period).
public final class TickHook: Handle {
    private var callback: (() -> Void)?
    private var beforePoll: BeforePoll?

    public convenience init(loop: Loop, _ callback: @escaping () -> Void) throws(UVError) {
        try self.init(loop: loop, beforePoll: callback, afterIO: callback)
    }

    /// Different work before poll and after the I/O callbacks (the loop's own hook).
    init(loop: Loop, beforePoll before: @escaping () -> Void, afterIO callback: @escaping () -> Void) throws(UVError) {
        try super.init(loop: loop, type: UV_CHECK) { memory in
            uv_check_init(loop.raw, memory.assumingMemoryBound(to: uv_check_t.self))
        }
        self.callback = callback
        beforePoll = try BeforePoll(loop: loop, before)
        uv_check_start(UnsafeMutablePointer(OpaquePointer(handle))) { check in
            // Once per loop iteration: the owner is borrowed (it lives until its close callback), not cast.
            Unmanaged<TickHook>.fromOpaque(check!.pointee.data)._withUnsafeGuaranteedRef { $0.callback?() }
        }
        // A check handle alone must not keep the loop alive.
        uv_unref(handle)
    }

    /// Its check and prepare handles.
    var handles: (UnsafeMutablePointer<uv_handle_t>?, UnsafeMutablePointer<uv_handle_t>?) { (handle, beforePoll?.handle) }

    override public func willClose() {
        beforePoll?.close()
        beforePoll = nil
    }

    override func didClose() {
        super.didClose()
        callback = nil
    }
}

/// The tick hook's run before poll (a uv_prepare handle, unreferenced like the check handle).
private final class BeforePoll: Handle {
    private var callback: (() -> Void)?

    init(loop: Loop, _ callback: @escaping () -> Void) throws(UVError) {
        try super.init(loop: loop, type: UV_PREPARE) { memory in
            uv_prepare_init(loop.raw, memory.assumingMemoryBound(to: uv_prepare_t.self))
        }
        self.callback = callback
        uv_prepare_start(UnsafeMutablePointer(OpaquePointer(handle))) { prepare in
            Unmanaged<BeforePoll>.fromOpaque(prepare!.pointee.data)._withUnsafeGuaranteedRef { $0.callback?() }
        }
        uv_unref(handle)
    }

    override func didClose() {
        super.didClose()
        callback = nil
    }
}
