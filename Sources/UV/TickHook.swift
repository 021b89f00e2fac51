import CLibUV

/// Runs a callback once per loop iteration, right after that iteration's I/O callbacks
/// (a uv_check handle): the place to flush work gathered during the tick.
public final class TickHook: Handle {
    private var callback: (() -> Void)?

    public init(loop: Loop, _ callback: @escaping () -> Void) throws(UVError) {
        try super.init(loop: loop, type: UV_CHECK) { memory in
            uv_check_init(loop.raw, memory.assumingMemoryBound(to: uv_check_t.self))
        }
        self.callback = callback
        uv_check_start(UnsafeMutablePointer(OpaquePointer(handle))) { check in
            // Once per loop iteration: the owner is borrowed (it lives until its close callback), not cast.
            Unmanaged<TickHook>.fromOpaque(check!.pointee.data)._withUnsafeGuaranteedRef { $0.callback?() }
        }
        // A check handle alone must not keep the loop alive.
        uv_unref(handle)
    }

    override func didClose() {
        super.didClose()
        callback = nil
    }
}
