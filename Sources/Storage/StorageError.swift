/// Why the revocation database could not be opened, read or written.
public struct StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done and SQLite's (or the file system's) explanation.
    public let message: String

    /// Creates an error with `message`.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
