import CLibUV
import Foundation
import UV

/// A thread of its own running a libuv loop: the client's sockets and timers live there, and
/// callers from any thread hand it work with `perform`, which wakes the loop (uv_async).
final class LoopThread: @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [@Sendable (Loop) -> Void] = []   // guarded by lock
    private var stopping = false                         // guarded by lock
    private let wakeup = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread and runs `first` on it before anything given to `perform`.
    init(name: String, first: @escaping @Sendable (Loop) -> Void) {
        let thread = Thread { [self] in run(first) }
        thread.name = name
        thread.start()
        started.wait()
    }

    /// Runs `job` on the loop thread soon; false (and `job` never runs) once the loop is shutting down.
    @discardableResult
    func perform(_ job: @escaping @Sendable (Loop) -> Void) -> Bool {
        lock.lock()
        guard !stopping else {
            lock.unlock()
            return false
        }
        jobs.append(job)
        lock.unlock()
        uv_async_send(wakeup)
        return true
    }

    /// Runs `job` on the loop thread, then lets the loop end once its last handle closes. Work
    /// handed over before it still runs (after `job`), so no caller waits forever.
    func shutdown(_ job: @escaping @Sendable (Loop) -> Void) {
        perform { [self] loop in
            lock.lock()
            guard !stopping else { return lock.unlock() }
            stopping = true
            let rest = jobs
            jobs = []
            lock.unlock()
            job(loop)
            for late in rest { late(loop) }
            uv_close(UnsafeMutableRawPointer(wakeup).assumingMemoryBound(to: uv_handle_t.self)) { handle in
                UnsafeMutableRawPointer(handle!).deallocate()
            }
        }
    }

    /// Waits (from another thread) until the loop has ended.
    func join() { finished.wait() }

    private func run(_ first: (Loop) -> Void) {
        let loop = try! Loop()
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_async_init(loop.raw, wakeup) { handle in
            Unmanaged<LoopThread>.fromOpaque(handle!.pointee.data).takeUnretainedValue().drain(handle!)
        }
        first(loop)
        started.signal()
        loop.run()
        try? loop.close()
        finished.signal()
    }

    private func drain(_ handle: UnsafeMutablePointer<uv_async_t>) {
        let loop = Unmanaged<Loop>.fromOpaque(handle.pointee.loop.pointee.data).takeUnretainedValue()
        lock.lock()
        let batch = jobs
        jobs = []
        lock.unlock()
        for job in batch { job(loop) }
    }
}
