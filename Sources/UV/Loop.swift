import CLibUV

/// One libuv event loop and the single read buffer every connection on it reads into.
///
/// Reads are consumed synchronously inside the read callback, so one buffer serves all
/// connections and an idle connection holds no read memory at all.
public final class Loop {
    public let raw: UnsafeMutablePointer<uv_loop_t>
    let readBuffer: UnsafeMutableRawPointer
    let readBufferSize: Int
    /// Connections with bytes gathered by `TCPConnection.send`, flushed after this iteration's I/O.
    /// Each entry holds a reference, released by that flush.
    var corked: [Unmanaged<TCPConnection>] = []
    /// True while `flushCorked` walks `corked` (a nested call would release its entries twice).
    var flushingCorked = false
    /// Sockets read since the cork was last flushed (see `Loop.flushAfterReads`).
    var readsSinceFlush = 0
    /// The loop's own per-iteration hook: flushes corked bytes, and closes what was closed during
    /// I/O callbacks. Made with the first connection; its two handles are not counted as open.
    weak var ownHook: TickHook?
    /// True from the hook's run before poll to its run after: I/O callbacks run in between.
    var inIOCallbacks = false
    /// Connections closed during I/O callbacks, to be handed to uv_close once those are done.
    var closesAfterIO: [TCPConnection] = []
    /// Connections that began to be watched during I/O callbacks (see `TCPConnection.watchSocket`).
    var watchesAfterIO: [TCPConnection] = []
    var spareCorkBuffers: [CorkBuffer] = []
    /// What owns the loop (a server), unretained: its handles reach it here instead of each keeping
    /// a reference (8 bytes an idle connection).
    public var context: UnsafeMutableRawPointer?

    public init(readBufferSize: Int = 64 * 1024) throws(UVError) {
        raw = .allocate(capacity: 1)
        self.readBufferSize = readBufferSize
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        let result = uv_loop_init(raw)
        if result < 0 {
            raw.deallocate()
            readBuffer.deallocate()
            throw UVError(result)
        }
        raw.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        for var spare in spareCorkBuffers { spare.deallocate() }
        for connection in corked { connection.release() }   // corked after the last flush
        readBuffer.deallocate()
        raw.deallocate()
    }

    /// Runs until `stop()` or until nothing is left to do.
    public func run() { uv_run(raw, UV_RUN_DEFAULT) }

    /// Runs one iteration; with `wait` it blocks for I/O if there is nothing ready.
    @discardableResult
    public func runOnce(wait: Bool = true) -> Bool {
        uv_run(raw, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0
    }

    public func stop() { uv_stop(raw) }

    /// A monotonic clock in nanoseconds, read now (not cached per iteration).
    public var preciseNanoseconds: UInt64 { uv_hrtime() }

    /// The loop's cached clock in milliseconds, updated once per iteration.
    public var now: UInt64 { uv_now(raw) }

    /// Makes the loop's own hook if it is not there yet.
    @inline(__always)
    func makeOwnHook() {
        guard ownHook == nil else { return }
        // The loop outlives its hook (`close` ends both): borrowed each run, not retained.
        let loop = Unmanaged.passUnretained(self)
        let hook = try? TickHook(loop: self, beforePoll: {
            loop._withUnsafeGuaranteedRef { $0.beforePoll() }
        }, afterIO: {
            loop._withUnsafeGuaranteedRef { $0.afterIO() }
        })
        ownHook = hook   // an open handle keeps itself alive until closed
    }

    private func beforePoll() {
        flushCorked()
        inIOCallbacks = true
    }

    private func afterIO() {
        inIOCallbacks = false
        watchAfterIO()
        closeAfterIO()
        flushCorked()
    }

    /// uv_poll_start for the connections that began to be watched during I/O callbacks (for the
    /// same walk as uv_close's below: every uv_poll_start forgets the descriptor's pending events).
    func watchAfterIO() {
        guard !watchesAfterIO.isEmpty else { return }
        for connection in watchesAfterIO { connection.startPendingWatch() }
        watchesAfterIO.removeAll(keepingCapacity: true)
    }

    /// uv_close for the connections closed during I/O callbacks. Inside them libuv's uv_close
    /// walks every event of the current epoll batch (up to 1,024) to forget the descriptor's;
    /// after them it has no batch to walk (about 3,900 instructions a close when many close at once).
    func closeAfterIO() {
        guard !closesAfterIO.isEmpty else { return }
        for connection in closesAfterIO where uv_is_closing(connection.handle) == 0 {
            uv_close(connection.handle, handleDidClose)
        }
        closesAfterIO.removeAll(keepingCapacity: true)
    }

    /// Number of handles still open (closing ones included), not counting the loop's own hook.
    public var openHandleCount: Int {
        var walk = (count: 0, own: ownHook?.handles ?? (nil, nil))
        withUnsafeMutablePointer(to: &walk) { walk in
            uv_walk(raw, { handle, arg in
                let walk = arg!.assumingMemoryBound(to: (count: Int, own: (UnsafeMutablePointer<uv_handle_t>?, UnsafeMutablePointer<uv_handle_t>?)).self)
                if handle != walk.pointee.own.0 && handle != walk.pointee.own.1 { walk.pointee.count += 1 }
            }, walk)
        }
        return walk.count
    }

    /// Calls `body` for every open handle owned by a `Handle` (collected first, so `body` may close them).
    public func forEachHandle(_ body: (Handle) -> Void) {
        var handles: [Handle] = []
        withUnsafeMutablePointer(to: &handles) { list in
            uv_walk(raw, { handle, list in
                guard let data = handle?.pointee.data, uv_is_closing(handle) == 0 else { return }
                let owner = Unmanaged<Handle>.fromOpaque(data).takeUnretainedValue()
                guard !owner.isClosing else { return }   // closed, uv_close still to come
                list!.assumingMemoryBound(to: [Handle].self).pointee.append(owner)
            }, list)
        }
        handles.forEach(body)
    }

    /// Closes every handle, lets their close callbacks run and closes the loop.
    /// Throws if libuv still holds something (a leak).
    public func close() throws(UVError) {
        uv_walk(raw, { handle, _ in
            if uv_is_closing(handle) == 0 { uv_close(handle, handleDidClose) }
        }, nil)
        uv_run(raw, UV_RUN_DEFAULT)
        watchesAfterIO.removeAll()
        closesAfterIO.removeAll()   // closed by the walk above
        try UVError.check(uv_loop_close(raw))
    }
}
