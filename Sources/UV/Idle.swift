import CLibUV

/// Runs a callback once per loop iteration while started, and keeps the loop from blocking in
/// poll meanwhile (a uv_idle handle): for work cut into slices, one slice per iteration, with
/// every socket's I/O served in between.
public final class Idle: Handle {
    private var callback: (() -> Void)?

    public init(loop: Loop, _ callback: @escaping () -> Void) throws(UVError) {
        try super.init(loop: loop, type: UV_IDLE) { memory in
            uv_idle_init(loop.raw, memory.assumingMemoryBound(to: uv_idle_t.self))
        }
        self.callback = callback
    }

    public func start() {
        uv_idle_start(UnsafeMutablePointer(OpaquePointer(handle))) { idle in
            let owner = Handle.owner(of: UnsafeMutablePointer(OpaquePointer(idle!))) as! Idle
            owner.callback?()
        }
    }

    public func stop() {
        uv_idle_stop(UnsafeMutablePointer(OpaquePointer(handle)))
    }

    override func didClose() {
        super.didClose()
        callback = nil
    }
}
