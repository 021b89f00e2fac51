/// Why a send, command or pairing failed. For server replies `status` and `id` are the reply's.
public struct TetherError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case offline            // status 1: target offline, or not delivered because its connection ended
        case malformed          // status 2
        case binary             // status 3
        case forbidden          // status 4: not paired, "from" not ours, broadcast refused
        case busy               // status 5: retry later
        case rateLimited        // status 6
        case status             // any other non-zero status
        case queueFull          // too many sends wait for the link
        case notConnected
        case linkLost           // the link dropped inside the reply window: delivery unknown
        case closed             // the client was closed
        case timeout            // a server command got no answer
        case pairFailed         // POST /pair refused the code (see `reason`)
        case unreachable
        case invalid            // bad arguments (an id, a URL)
    }

    public var code: Code
    /// The server's words, or the client's.
    public var message: String
    public var status: Int?
    /// The `id` the message went out with.
    public var id: Int?
    public var data: JSONValue?
    /// pair(): "used", "unknown" or "expired"; or the HTTP status when there is no reason.
    public var reason: String?

    public init(_ code: Code, _ message: String, status: Int? = nil, id: Int? = nil, data: JSONValue? = nil, reason: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.id = id
        self.data = data
        self.reason = reason
    }

    /// The error for a server reply with a non-zero status.
    init(reply: JSONValue) {
        let status = reply["status"]?.intValue ?? -1
        let codes: [Int: Code] = [1: .offline, 2: .malformed, 3: .binary, 4: .forbidden, 5: .busy, 6: .rateLimited]
        self.init(codes[status] ?? .status, reply["message"]?.stringValue ?? "", status: status,
                  id: reply["id"]?.intValue, data: reply["data"])
    }

    public var description: String {
        "TetherError.\(code.rawValue)(\(message)" + (status.map { ", status \($0)" } ?? "") + (id.map { ", id \($0)" } ?? "") + ")"
    }
}
