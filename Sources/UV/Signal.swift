import CLibUV

/// Delivers a POSIX signal (SIGINT, SIGTERM) on the loop, so shutdown runs as ordinary loop work.
public final class Signal: Handle {
    private var callback: (() -> Void)?

    public init(loop: Loop, signal number: Int32, _ callback: @escaping () -> Void) throws(UVError) {
        try super.init(loop: loop, type: UV_SIGNAL) { memory in
            uv_signal_init(loop.raw, memory.assumingMemoryBound(to: uv_signal_t.self))
        }
        self.callback = callback
        let result = uv_signal_start(UnsafeMutablePointer(OpaquePointer(handle)), { signal, _ in
            let owner = Handle.owner(of: UnsafeMutablePointer(OpaquePointer(signal!))) as! Signal
            owner.callback?()
        }, number)
        if result < 0 {
            close()
            throw UVError(result)
        }
        // Waiting for a signal must not keep an otherwise finished loop alive.
        uv_unref(handle)
    }

    override func didClose() {
        super.didClose()
        callback = nil
    }
}
