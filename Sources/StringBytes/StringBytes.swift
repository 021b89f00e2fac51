extension String {
    /// The string's UTF-8 bytes for `body`: the UTF-8 view's own storage when it has one (no copy
    /// of the string: `withUTF8` on a `var` copy cost about 150 instructions more a call), else a
    /// copy made contiguous. Shared by WebSocket (request heads) and Switchboard (device ids).
    @inlinable @inline(__always)
    public func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return try copy.withUTF8(body)
    }
}
