/// Immutable-once-filled bytes that many writes may reference at once (a broadcast frame).
/// Each write the kernel does not take at once retains it until libuv reports the write done.
public final class SharedBuffer {
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: max(capacity, 1), alignment: 16)
    }

    deinit { base.deallocate() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= capacity, "SharedBuffer overflow")
        if let source = bytes.baseAddress, !bytes.isEmpty {
            (base + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
    }

    /// Lets `fill` write into the free tail; it returns how many bytes it wrote.
    public func append(reserving maxCount: Int, _ fill: (UnsafeMutableRawPointer) -> Int) {
        precondition(count + maxCount <= capacity, "SharedBuffer overflow")
        count += fill(base + count)
    }
}
