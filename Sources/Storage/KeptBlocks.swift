import Glibc

/// Where kept records live: fixed-size blocks cut from large slabs, each recipient's records one
/// byte stream across a chain of them. Blocks of one size leave no holes when queues grow side by
/// side (growing one buffer per recipient made the allocator keep each old size as a hole), and
/// no object or allocator header sits beside each message. Freed blocks are reused, not returned.
struct KeptBlocks: ~Copyable {
    static let size = 128
    /// A block's bytes after the index of the next block in its chain.
    static let dataSize = size - MemoryLayout<UInt32>.size
    static let none = UInt32.max
    /// 1 MiB slabs: malloc maps them on their own, so untouched pages cost nothing.
    private static let perSlab = 8192

    private var slabs: [UnsafeMutableRawPointer] = []
    /// Never handed out yet: the blocks from `used` to the end of the last slab.
    private var used = 0
    /// Freed blocks, linked through their first four bytes.
    private var free = KeptBlocks.none

    init() {}

    deinit {
        for slab in slabs { Glibc.free(slab) }
    }

    /// Blocks in use (whole chains, the unused end of their last block included).
    var inUse: Int {
        var freed = 0
        var index = free
        while index != Self.none { freed += 1; index = next(index) }
        return used - freed
    }

    func block(_ index: UInt32) -> UnsafeMutableRawPointer {
        slabs[Int(index) / Self.perSlab] + (Int(index) % Self.perSlab) * Self.size
    }

    func next(_ index: UInt32) -> UInt32 { block(index).load(as: UInt32.self) }

    private func setNext(_ index: UInt32, _ next: UInt32) { block(index).storeBytes(of: next, as: UInt32.self) }

    private mutating func allocate() -> UInt32 {
        let index: UInt32
        if free != Self.none {
            index = free
            free = next(index)
        } else {
            if used == slabs.count * Self.perSlab {
                guard let slab = malloc(Self.perSlab * Self.size) else { fatalError("out of memory for kept messages") }
                slabs.append(slab)
            }
            index = UInt32(used)
            used += 1
        }
        setNext(index, Self.none)
        return index
    }

    /// Appends `bytes` to `chain`'s stream, adding blocks as it fills.
    mutating func append(_ bytes: UnsafeRawBufferPointer, to chain: inout KeptChain) {
        var offset = 0
        while offset < bytes.count {
            if chain.tail == Self.none || Int(chain.tailUsed) == Self.dataSize {
                let fresh = allocate()
                if chain.tail == Self.none { chain.head = fresh } else { setNext(chain.tail, fresh) }
                chain.tail = fresh
                chain.tailUsed = 0
            }
            let count = min(bytes.count - offset, Self.dataSize - Int(chain.tailUsed))
            (block(chain.tail) + 4 + Int(chain.tailUsed)).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
            chain.tailUsed += UInt32(count)
            offset += count
        }
    }

    /// Appends `count` bytes read from another chain at `cursor` (a chain being rewritten).
    mutating func append(_ count: Int, from cursor: inout KeptCursor, to chain: inout KeptChain) {
        var left = count
        while left > 0 {
            let piece = contiguous(left, at: &cursor)
            append(piece, to: &chain)
            left -= piece.count
        }
    }

    /// Hands `chain`'s blocks back for reuse.
    mutating func release(_ chain: KeptChain) {
        guard chain.head != Self.none else { return }
        setNext(chain.tail, free)
        free = chain.head
    }

    // MARK: Reading

    /// Up to `count` bytes at `cursor` that sit in one block; the cursor moves past them.
    func contiguous(_ count: Int, at cursor: inout KeptCursor) -> UnsafeRawBufferPointer {
        if cursor.offset == Self.dataSize {
            cursor.block = next(cursor.block)
            cursor.offset = 0
        }
        let piece = min(count, Self.dataSize - cursor.offset)
        let start = block(cursor.block) + 4 + cursor.offset
        cursor.offset += piece
        return UnsafeRawBufferPointer(start: start, count: piece)
    }

    func readByte(at cursor: inout KeptCursor) -> UInt8 {
        contiguous(1, at: &cursor)[0]
    }

    /// Fills `destination` with the bytes at `cursor`.
    func read(at cursor: inout KeptCursor, into destination: UnsafeMutableRawBufferPointer) {
        var done = 0
        while done < destination.count {
            let piece = contiguous(destination.count - done, at: &cursor)
            UnsafeMutableRawBufferPointer(rebasing: destination[done...]).copyMemory(from: piece)
            done += piece.count
        }
    }

    func skip(_ count: Int, at cursor: inout KeptCursor) {
        var left = count
        while left > 0 { left -= contiguous(left, at: &cursor).count }
    }
}

/// A position in a chain's byte stream.
struct KeptCursor {
    var block: UInt32
    var offset: Int

    /// The start of `chain`.
    init(_ chain: KeptChain) {
        block = chain.head
        offset = 0
    }
}

/// One recipient's kept records: their chain of blocks and what the bounds and expiry need.
struct KeptChain {
    var head = KeptBlocks.none
    var tail = KeptBlocks.none
    /// Bytes written in the tail block.
    var tailUsed: UInt32 = 0
    var count: UInt32 = 0
    /// Payload bytes, as the bounds count them.
    var bytes = 0
    /// The time the expiry heap holds this chain's live entry for (other entries are stale).
    var scheduled = Int64.max
    /// The highest sequence held: a message numbered below it goes back to its place, not the end.
    var last: Int64 = 0
}
