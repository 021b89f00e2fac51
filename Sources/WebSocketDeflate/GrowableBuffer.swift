/// Bytes a codec writes into and reuses from message to message. It grows on demand and, after a
/// message that needed more than `retainedCapacity`, gives the memory back.
struct GrowableBuffer {
    private(set) var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    let retainedCapacity: Int

    init(retainedCapacity: Int) { self.retainedCapacity = retainedCapacity }

    var capacity: Int { storage.count }

    /// Makes room for at least `capacity` bytes, keeping the first `keeping` bytes.
    mutating func reserve(_ capacity: Int, keeping: Int) {
        guard capacity > storage.count else { return }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        if keeping > 0 { grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<keeping])) }
        storage.deallocate()
        storage = grown
    }

    /// Called when a message is done with the buffer.
    mutating func trim() {
        guard storage.count > retainedCapacity else { return }
        storage.deallocate()
        storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    func deallocate() { storage.deallocate() }
}
