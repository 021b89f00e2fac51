import Glibc

/// The bytes one connection gathers during a loop iteration (see Cork.swift), in a malloc'd block
/// headed by its count and capacity. A bare pointer (8 bytes a connection, nil while idle): a
/// frame goes in with one memcpy, without the reference counting and uniqueness checks of a
/// `[UInt8]` (whose `append(contentsOf:)` and recycling cost about 300 instructions a message).
///
/// A value type without ownership: whoever holds a block hands it back to the loop (`recycle`) or
/// deallocates it, once.
struct CorkBuffer {
    private var block: UnsafeMutableRawPointer?
    private static let headerSize = 2 * MemoryLayout<Int>.stride

    init() { block = nil }

    init(capacity: Int) {
        block = malloc(CorkBuffer.headerSize + capacity)!
        setCount(0)
        block!.storeBytes(of: capacity, toByteOffset: MemoryLayout<Int>.stride, as: Int.self)
    }

    var isAllocated: Bool { block != nil }
    var count: Int { block?.load(as: Int.self) ?? 0 }
    var capacity: Int { block?.load(fromByteOffset: MemoryLayout<Int>.stride, as: Int.self) ?? 0 }

    /// The gathered bytes (valid until the next change).
    var bytes: UnsafeRawBufferPointer {
        guard let block else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: block + CorkBuffer.headerSize, count: count)
    }

    /// Appends `bytes` (the block must be allocated), growing it by doubling when full.
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        let count = self.count
        let needed = count + bytes.count
        if needed > capacity { grow(to: needed) }
        (block! + CorkBuffer.headerSize + count).copyMemory(from: source, byteCount: bytes.count)
        setCount(needed)
    }

    /// Empties it, keeping the block.
    mutating func removeAll() { setCount(0) }

    /// Moves the block out, leaving this one unallocated.
    mutating func take() -> CorkBuffer {
        defer { block = nil }
        return self
    }

    /// Frees the block (if any).
    mutating func deallocate() {
        free(block)
        block = nil
    }

    private func setCount(_ count: Int) { block!.storeBytes(of: count, as: Int.self) }

    private mutating func grow(to needed: Int) {
        let capacity = max(needed, self.capacity * 2)
        block = realloc(block, CorkBuffer.headerSize + capacity)!
        block!.storeBytes(of: capacity, toByteOffset: MemoryLayout<Int>.stride, as: Int.self)
    }
}
