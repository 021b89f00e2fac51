import CLibUV

/// What a slow peer has not taken yet, held in user space in write order. Only a connection whose
/// kernel buffer filled up has one. At most one batch is in flight (a bounded one, handed to the
/// socket as it takes it), so everything behind it can still be dropped whole (a slow consumer's
/// close) and every unit (a frame, a response) that never reached the socket can be named to
/// whoever sent it.
final class Backlog {
    struct Chunk {
        let base: UnsafeMutableRawPointer
        var count: Int
        /// Bytes allocated for an owned copy (more may be appended); 0 when `shared` owns them.
        let capacity: Int
        let shared: SharedBuffer?
        /// The rest of a unit whose start the kernel already took: sent whole, never dropped.
        let continuesUnit: Bool
        /// Already in wire form (TLS records): not passed through the connection's encoder again.
        var encoded = false
        /// For the rest of a unit: that unit's bytes the kernel took, kept readable just before
        /// `base`, so the unit can still be named whole if it never fully reaches the socket.
        var head = 0

        /// The whole unit this chunk is (the rest of).
        var unit: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base - head, count: head + count) }

        func release() {
            if shared == nil { (base - head).deallocate() }
        }
    }

    /// Batches sent at once: small enough that a close frame queued behind the batch
    /// reaches a peer that reads at all, large enough that a draining backlog needs few syscalls.
    static let batchBytes = 64 * 1024
    static let batchChunks = 16
    /// Smallest owned chunk: later small writes are appended to it instead of allocating again.
    static let minimumChunkBytes = 4096

    private(set) var waiting: [Chunk] = []
    private var waitingStart = 0
    private(set) var waitingBytes = 0
    private(set) var inFlight: [Chunk] = []
    /// For an encoding connection: the plaintext each in-flight chunk was made from (nil if none).
    private var inFlightPlain: [Chunk?] = []
    private(set) var inFlightBytes = 0
    /// Bytes of the batch in flight the kernel took so far.
    private var inFlightSent = 0
    /// FIN is sent once everything held here is written.
    var shutdownRequested = false

    deinit {
        for chunk in inFlight { chunk.release() }
        for chunk in inFlightPlain { chunk?.release() }
        for chunk in waiting[waitingStart...] { chunk.release() }
    }

    var isIdle: Bool { inFlight.isEmpty && waitingStart == waiting.count }

    var hasBatch: Bool { !inFlight.isEmpty }

    /// Bytes of the batch in flight the kernel has not taken.
    var unsentInFlight: Int { inFlightBytes - inFlightSent }

    /// Copies the rest of a unit (`unit` from `taken` on) behind everything waiting; the part
    /// the kernel took is copied too, to name the unit by if it never fully reaches the socket.
    func append(copyingRestOf unit: UnsafeRawBufferPointer, taken: Int) {
        guard taken < unit.count, let source = unit.baseAddress else { return }
        let base = UnsafeMutableRawPointer.allocate(byteCount: unit.count, alignment: 16)
        base.copyMemory(from: source, byteCount: unit.count)
        waitingBytes += unit.count - taken
        var chunk = Chunk(base: base + taken, count: unit.count - taken, capacity: unit.count, shared: nil, continuesUnit: true)
        chunk.head = taken
        waiting.append(chunk)
    }

    /// References the rest of a unit inside `shared` (from `taken` on) behind everything waiting.
    func append(referencingRestOf unit: UnsafeRawBufferPointer, taken: Int, of shared: SharedBuffer) {
        guard taken < unit.count, let source = unit.baseAddress else { return }
        waitingBytes += unit.count - taken
        var chunk = Chunk(base: UnsafeMutableRawPointer(mutating: source + taken), count: unit.count - taken, capacity: 0,
                          shared: shared, continuesUnit: true)
        chunk.head = taken
        waiting.append(chunk)
    }

    /// Copies `bytes` behind everything waiting (into the last chunk when it has room).
    func append(copying bytes: UnsafeRawBufferPointer, continuesUnit: Bool = false, encoded: Bool = false) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        waitingBytes += bytes.count
        if !continuesUnit, waiting.count > waitingStart, let last = waiting.last, last.shared == nil,
           !last.continuesUnit, last.encoded == encoded, last.capacity - last.count >= bytes.count {
            (last.base + last.count).copyMemory(from: source, byteCount: bytes.count)
            waiting[waiting.count - 1].count += bytes.count
            return
        }
        let capacity = max(bytes.count, Backlog.minimumChunkBytes)
        let base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        base.copyMemory(from: source, byteCount: bytes.count)
        waiting.append(Chunk(base: base, count: bytes.count, capacity: capacity, shared: nil, continuesUnit: continuesUnit, encoded: encoded))
    }

    /// References `bytes` (inside `shared`) behind everything waiting, retaining their owner.
    func append(referencing bytes: UnsafeRawBufferPointer, of shared: SharedBuffer, continuesUnit: Bool = false) {
        guard !bytes.isEmpty else { return }
        waitingBytes += bytes.count
        waiting.append(Chunk(base: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), count: bytes.count,
                             capacity: 0, shared: shared, continuesUnit: continuesUnit))
    }

    /// Puts the next batch in flight unless one is, passing plaintext through `encode` (TLS) first.
    /// Returns whether a batch is in flight (false: nothing waits).
    func startBatch(encode: ((UnsafeRawBufferPointer, (UnsafeRawBufferPointer) -> Void) -> Void)? = nil) -> Bool {
        guard inFlight.isEmpty else { return true }
        guard waitingStart < waiting.count else { return false }
        while waitingStart < waiting.count, inFlight.count < Backlog.batchChunks,
              inFlight.isEmpty || inFlightBytes + waiting[waitingStart].count <= Backlog.batchBytes {
            var chunk = waiting[waitingStart]
            waitingStart += 1
            waitingBytes -= chunk.count
            var plain: Chunk?
            if let encode, !chunk.encoded {
                plain = chunk
                chunk = Backlog.encoded(UnsafeRawBufferPointer(start: chunk.base, count: chunk.count), encode)
            }
            inFlight.append(chunk)
            inFlightPlain.append(plain)
            inFlightBytes += chunk.count
        }
        compactWaiting()
        return true
    }

    /// Sends what `socket` takes of the batch in flight, in one sendmsg: 0 once all of it is sent,
    /// UV_EAGAIN while some is left (wait until the socket is writable), or the socket's error.
    func send(to socket: Int32) -> Int32 {
        let result: Int32 = withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: Backlog.batchChunks) { buffers in
            var count = 0
            var skip = inFlightSent
            for chunk in inFlight {
                if skip >= chunk.count {
                    skip -= chunk.count
                    continue
                }
                buffers[count] = uv_buf_init((chunk.base + skip).assumingMemoryBound(to: CChar.self), UInt32(chunk.count - skip))
                skip = 0
                count += 1
            }
            return tether_send(socket, buffers.baseAddress!, UInt32(count))
        }
        if result < 0 { return result }
        inFlightSent += Int(result)
        // Like libuv: after a partial write, the next try waits until the socket is writable.
        return inFlightSent == inFlightBytes ? 0 : Int32(UV_EAGAIN.rawValue)
    }

    /// The wire form of `plaintext` as one owned chunk.
    private static func encoded(_ plaintext: UnsafeRawBufferPointer,
                                _ encode: (UnsafeRawBufferPointer, (UnsafeRawBufferPointer) -> Void) -> Void) -> Chunk {
        var wire: [UInt8] = []
        encode(plaintext) { wire.append(contentsOf: $0) }
        let base = UnsafeMutableRawPointer.allocate(byteCount: max(wire.count, 1), alignment: 16)
        wire.withUnsafeBytes { if let source = $0.baseAddress { base.copyMemory(from: source, byteCount: $0.count) } }
        return Chunk(base: base, count: wire.count, capacity: max(wire.count, 1), shared: nil, continuesUnit: false, encoded: true)
    }

    /// The in-flight batch ended: its chunks are let go.
    func finishBatch() {
        for chunk in inFlight { chunk.release() }
        for chunk in inFlightPlain { chunk?.release() }
        inFlight.removeAll(keepingCapacity: true)
        inFlightPlain.removeAll(keepingCapacity: true)
        inFlightBytes = 0
        inFlightSent = 0
    }

    /// Encodes every waiting plaintext chunk now, in order: wire bytes made later (a TLS alert or
    /// close_notify) must queue behind records made from what waits, or the peer would see TLS
    /// records out of sequence. What is encoded can no longer be dropped or named.
    func encodeWaiting(_ encode: (UnsafeRawBufferPointer, (UnsafeRawBufferPointer) -> Void) -> Void) {
        for index in waitingStart..<waiting.count where !waiting[index].encoded {
            let plain = waiting[index]
            var wire = Backlog.encoded(UnsafeRawBufferPointer(start: plain.base, count: plain.count), encode)
            wire = Chunk(base: wire.base, count: wire.count, capacity: wire.capacity, shared: nil, continuesUnit: true, encoded: true)
            waitingBytes += wire.count - plain.count
            waiting[index] = wire
            plain.release()
        }
    }

    /// Lets go of everything not yet in flight, showing each chunk to `visit` first.
    func dropWaiting(_ visit: (UnsafeRawBufferPointer) -> Void) {
        // Wire-form chunks (TLS's own records) stay: dropping them would break the stream.
        var kept: [Chunk] = []
        for chunk in waiting[waitingStart...] {
            if chunk.encoded { kept.append(chunk); continue }
            if !chunk.continuesUnit { visit(UnsafeRawBufferPointer(start: chunk.base, count: chunk.count)) }
            chunk.release()
        }
        waiting = kept
        waitingStart = 0
        waitingBytes = kept.reduce(0) { $0 + $1.count }
    }

    /// Shows every unit-aligned chunk not yet fully taken by the kernel, with how many of its
    /// bytes the kernel did take.
    func forEachUnsent(_ visit: (UnsafeRawBufferPointer, Int) -> Void) {
        var sent = inFlightSent
        for (index, chunk) in inFlight.enumerated() {
            let taken = min(sent, chunk.count)
            sent -= taken
            guard taken < chunk.count else { continue }
            if let plain = inFlightPlain[index] {
                // A TLS record the peer did not get whole is lost whole: all of its units count.
                visit(UnsafeRawBufferPointer(start: plain.base, count: plain.count), 0)
            } else if !chunk.encoded && (!chunk.continuesUnit || chunk.head > 0) {
                visit(chunk.unit, chunk.head + taken)
            }
        }
        for chunk in waiting[waitingStart...] where !chunk.encoded && (!chunk.continuesUnit || chunk.head > 0) {
            visit(chunk.unit, chunk.head)
        }
    }

    private func compactWaiting() {
        if waitingStart == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingStart = 0
        } else if waitingStart > 64 && waitingStart * 2 > waiting.count {
            waiting.removeFirst(waitingStart)
            waitingStart = 0
        }
    }
}
