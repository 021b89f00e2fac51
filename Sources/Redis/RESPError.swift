/// What made bytes from the server unreadable as RESP. Any of these ends the link.
public enum RESPError: Error, Equatable, Sendable {
    /// The first byte of a value is no RESP2 or RESP3 type.
    case unknownType(UInt8)
    /// A line ended with a bare LF, or a bulk payload was not followed by CRLF.
    case missingCRLF
    /// An integer, length or count is not a decimal number in range.
    case invalidNumber
    /// A double, boolean, null, big number or verbatim string is malformed.
    case invalidValue
    /// A declared bulk length over `RESPLimits.maxBulkBytes`.
    case bulkTooLarge(Int)
    /// A reply declaring more elements than `RESPLimits.maxElements`.
    case tooManyElements(Int)
    /// Aggregates nested deeper than `RESPLimits.maxDepth`.
    case tooDeep
    /// A simple line (status, error, number) longer than `RESPLimits.maxLineBytes`.
    case lineTooLong
}

/// Bounds that turn a hostile or broken stream into an error instead of unbounded memory.
public struct RESPLimits: Equatable, Sendable {
    /// Largest bulk string, blob error or verbatim string: 16 MiB (Redis itself allows 512 MiB).
    public var maxBulkBytes: Int
    /// Most elements one reply may declare, summed over all its aggregates (a map's pairs count
    /// twice): 1,048,576.
    public var maxElements: Int
    /// Deepest nesting of aggregates (a top-level array is depth 1): 32.
    public var maxDepth: Int
    /// Longest simple line (simple string, error, number): 64 KiB.
    public var maxLineBytes: Int

    public init(maxBulkBytes: Int = 16 << 20, maxElements: Int = 1 << 20, maxDepth: Int = 32, maxLineBytes: Int = 64 << 10) {
        self.maxBulkBytes = maxBulkBytes
        self.maxElements = maxElements
        self.maxDepth = maxDepth
        self.maxLineBytes = maxLineBytes
    }
}
