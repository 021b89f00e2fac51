import Glibc

/// Where kept records live: blocks of 64 bytes to 4 KiB cut from 1 MiB slabs, one free list per
/// size, each recipient's records one byte stream across a chain of them. A record takes the
/// largest blocks that it fills, so a block's 4-byte link costs a small message about 8 bytes and
/// a large one a fraction of a percent, and a chain wastes at most the end of its last 64-byte
/// block. Blocks of a few fixed sizes leave no holes when queues grow side by side (growing one
/// buffer per recipient made the allocator keep each old size as a hole), and no object or
/// allocator header sits beside each message. Freed blocks are reused, not returned.
struct KeptBlocks: ~Copyable {
    /// A block is named by its size class (top 3 bits) and its index in that class.
    static let none = UInt32.max
    static let classes = 7
    private static let slabShift = 20
    private static let slabBytes = 1 << slabShift

    private struct Pool {
        var slabs: [UnsafeMutableRawPointer] = []
        /// Blocks handed out from the slabs so far (freed ones included).
        var used = 0
        /// Freed blocks, linked through their first four bytes.
        var free = KeptBlocks.none
    }

    private var pools = [Pool](repeating: Pool(), count: KeptBlocks.classes)

    init() {}

    deinit {
        for pool in pools { for slab in pool.slabs { Glibc.free(slab) } }
    }

    static func size(ofClass sizeClass: Int) -> Int { 64 << sizeClass }

    /// The bytes of `block` after its link.
    static func dataSize(_ block: UInt32) -> Int { size(ofClass: Int(block >> 29)) - 4 }

    /// Blocks in use, for tests.
    var inUse: Int {
        var count = 0
        for pool in pools {
            count += pool.used
            var index = pool.free
            while index != Self.none { count -= 1; index = next(index) }
        }
        return count
    }

    private func start(_ block: UInt32) -> UnsafeMutableRawPointer {
        let sizeClass = Int(block >> 29), index = Int(block & 0x1fff_ffff)
        let perSlabShift = Self.slabShift - 6 - sizeClass   // sizes and slabs are powers of two: shifts, not divisions
        return pools[sizeClass].slabs[index >> perSlabShift] + (index & (1 << perSlabShift - 1)) << (6 + sizeClass)
    }

    func next(_ block: UInt32) -> UInt32 { start(block).load(as: UInt32.self) }

    private func setNext(_ block: UInt32, _ next: UInt32) { start(block).storeBytes(of: next, as: UInt32.self) }

    private mutating func allocate(_ sizeClass: Int) -> UInt32 {
        let block: UInt32
        if pools[sizeClass].free != Self.none {
            block = pools[sizeClass].free
            pools[sizeClass].free = next(block)
        } else {
            let perSlab = Self.slabBytes / Self.size(ofClass: sizeClass)
            if pools[sizeClass].used == pools[sizeClass].slabs.count * perSlab {
                guard let slab = malloc(Self.slabBytes) else { fatalError("out of memory for kept messages") }
                pools[sizeClass].slabs.append(slab)
            }
            precondition(pools[sizeClass].used < 1 << 29, "too many kept blocks")
            block = UInt32(sizeClass) << 29 | UInt32(pools[sizeClass].used)
            pools[sizeClass].used += 1
        }
        setNext(block, Self.none)
        return block
    }

    /// Appends `bytes` to `chain`'s stream; `recordLeft` (these bytes and the rest of their
    /// record) picks the size of any block added: the largest that the record fills.
    mutating func append(_ bytes: UnsafeRawBufferPointer, to chain: inout KeptChain, recordLeft: Int) {
        var offset = 0
        while offset < bytes.count {
            if chain.tail == Self.none || Int(chain.tailUsed) == Self.dataSize(chain.tail) {
                let left = recordLeft - offset
                var sizeClass = 0
                while sizeClass + 1 < Self.classes, Self.size(ofClass: sizeClass + 1) - 4 <= left { sizeClass += 1 }
                let fresh = allocate(sizeClass)
                if chain.tail == Self.none { chain.head = fresh } else { setNext(chain.tail, fresh) }
                chain.tail = fresh
                chain.tailUsed = 0
            }
            let count = min(bytes.count - offset, Self.dataSize(chain.tail) - Int(chain.tailUsed))
            (start(chain.tail) + 4 + Int(chain.tailUsed)).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
            chain.tailUsed += UInt32(count)
            offset += count
        }
    }

    /// Appends the last `count` bytes of a record, read from another chain at `cursor` (a chain
    /// being rewritten).
    mutating func append(_ count: Int, from cursor: inout KeptCursor, to chain: inout KeptChain) {
        var left = count
        while left > 0 {
            let piece = contiguous(left, at: &cursor)
            append(piece, to: &chain, recordLeft: left)
            left -= piece.count
        }
    }

    /// Hands `chain`'s blocks back for reuse.
    mutating func release(_ chain: KeptChain) {
        var block = chain.head
        while block != Self.none {
            let following = next(block)
            let sizeClass = Int(block >> 29)
            setNext(block, pools[sizeClass].free)
            pools[sizeClass].free = block
            block = following
        }
    }

    // MARK: Reading

    /// Up to `count` bytes at `cursor` that sit in one block; the cursor moves past them.
    func contiguous(_ count: Int, at cursor: inout KeptCursor) -> UnsafeRawBufferPointer {
        if cursor.offset == Self.dataSize(cursor.block) {
            cursor.block = next(cursor.block)
            cursor.offset = 0
        }
        let piece = min(count, Self.dataSize(cursor.block) - cursor.offset)
        let bytes = start(cursor.block) + 4 + cursor.offset
        cursor.offset += piece
        return UnsafeRawBufferPointer(start: bytes, count: piece)
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
