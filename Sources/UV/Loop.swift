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
    var corked: [TCPConnection] = []
    /// The list `flushCorked` last emptied, kept for its capacity.
    var spareCorked: [TCPConnection] = []
    weak var corkFlusher: TickHook?
    /// Sockets read since the cork was last flushed (see `Loop.flushAfterReads`).
    var readsSinceFlush = 0
    var spareCorkBuffers: [[UInt8]] = []
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

    /// Number of handles still open (closing ones included).
    public var openHandleCount: Int {
        var count = 0
        uv_walk(raw, { _, arg in arg!.assumingMemoryBound(to: Int.self).pointee += 1 }, &count)
        return count
    }

    /// Calls `body` for every open handle owned by a `Handle` (collected first, so `body` may close them).
    public func forEachHandle(_ body: (Handle) -> Void) {
        var handles: [Handle] = []
        withUnsafeMutablePointer(to: &handles) { list in
            uv_walk(raw, { handle, list in
                guard let data = handle?.pointee.data, uv_is_closing(handle) == 0 else { return }
                list!.assumingMemoryBound(to: [Handle].self).pointee.append(Unmanaged<Handle>.fromOpaque(data).takeUnretainedValue())
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
        try UVError.check(uv_loop_close(raw))
    }
}
