/// What the server agreed to for one connection.
public struct DeflateParameters: Sendable, Equatable {
    /// The largest window the server's compressor may use (8...15): pass it to `MessageDeflater.compress`.
    public var serverWindowBits: Int
    /// nil: the client starts each message afresh, so the shared `MessageInflater` serves it.
    /// A value: the client keeps its context, so the connection needs its own
    /// `MessageInflater(maxMessageBytes:windowBits:keepsContext: true)` with this window.
    public var clientContextWindowBits: Int?
    /// The value of the 101 response's `Sec-WebSocket-Extensions` header.
    public var responseHeaderValue: String

    public init(serverWindowBits: Int, clientContextWindowBits: Int?, responseHeaderValue: String) {
        self.serverWindowBits = serverWindowBits
        self.clientContextWindowBits = clientContextWindowBits
        self.responseHeaderValue = responseHeaderValue
    }
}
