/// Corking: bytes sent with `TCPConnection.send` during a loop iteration are gathered per
/// connection and written with one syscall when the iteration's I/O is done, or sooner after a few
/// sockets' reads (uWS corks the same way). Under load many small frames to one peer become one
/// write; at low load it costs nothing, since the iteration ends at once.
extension Loop {
    /// Lists `connection` for the next flush, retained until then. (The hook that flushes was made
    /// with the first connection, and only `close` ends it.)
    func cork(_ connection: TCPConnection) {
        corked.append(Unmanaged.passRetained(connection))
    }

    /// After this many sockets' reads in one wakeup, what they routed is written before the next
    /// socket is read: the first sender of a busy wakeup does not wait for every other socket's
    /// work (paced p99 -30 % here), and frames for one peer still merge across a few reads.
    static let flushAfterReads = 4

    /// A socket's read is done: past `flushAfterReads` reads, flush.
    func didServeRead() {
        readsSinceFlush += 1
        if readsSinceFlush >= Loop.flushAfterReads { flushCorked() }
    }

    /// Writes every corked connection's gathered bytes (also safe to call at any time).
    public func flushCorked() {
        readsSinceFlush = 0
        guard !corked.isEmpty, !flushingCorked else { return }
        flushingCorked = true
        defer { flushingCorked = false }
        // Unmanaged entries: emptying the list releases nothing through the runtime's generic
        // path (a list of references cost about 120 instructions a message to keep and clear).
        // By index, in case a flush corks again (the walk reaches what that adds).
        var index = 0
        while index < corked.count {
            let connection = corked[index]
            connection._withUnsafeGuaranteedRef { $0.flushCork() }
            connection.release()
            index += 1
        }
        corked.removeAll(keepingCapacity: true)
    }

    /// A cleared buffer for a connection to gather into; buffers are reused across iterations.
    func takeCorkBuffer() -> CorkBuffer {
        spareCorkBuffers.popLast() ?? CorkBuffer(capacity: 512)
    }

    /// Takes back a buffer that was flushed or dropped.
    func recycle(_ buffer: CorkBuffer) {
        var buffer = buffer
        // Spares are for ordinary ticks: a burst's big buffer is let go, so at most 1 MiB stays.
        if buffer.capacity <= 16 * 1024 && spareCorkBuffers.count < 64 {
            buffer.removeAll()
            spareCorkBuffers.append(buffer)
        } else {
            buffer.deallocate()
        }
    }
}

extension TCPConnection {
    /// Queues `first` then `second` to go out at the end of this loop iteration, together with
    /// everything else sent to this connection meanwhile. Order with `write` is kept: a direct
    /// write first sends what is corked.
    public func send(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        guard !isClosing else { return }
        if !hasCork {
            withLoop { loop in
                corkBuffer = loop.takeCorkBuffer()
                loop.cork(self)
            }
        }
        corkBuffer.append(first)
        corkBuffer.append(second)
    }

    /// Bytes gathered for the end of this iteration.
    public var corkedBytes: Int { corkBuffer.count }

    /// Writes what was gathered this iteration now (before bytes that must follow it).
    public func flushGathered() {
        if hasCork { flushCork() }
    }

    func flushCork() {
        guard hasCork else { return }
        let buffer = corkBuffer.take()
        // writeNow copies what the kernel does not take: the block can go back at once.
        if !isClosing { _ = writeNow(buffer.bytes, UnsafeRawBufferPointer(start: nil, count: 0), shared: nil) }
        withLoop { $0.recycle(buffer) }
    }
}
