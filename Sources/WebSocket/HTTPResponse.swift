/// An HTTP/1.1 response, serialized in one piece (responses here are small).
/// It is also an Error: a refusal travels as the response that states it.
public struct HTTPResponse: Sendable, Error {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body: `{"status":<code>,"message":"<message>"}`-style text built by the caller.
    public static func json(_ status: Int, _ json: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    public func serialized(keepAlive: Bool) -> [UInt8] {
        // Appended as bytes: string interpolation cost more than the rest of a handshake's answer.
        var out: [UInt8] = []
        out.reserveCapacity(160 + body.count)
        out += "HTTP/1.1 ".utf8
        out += String(status).utf8
        out.append(UInt8(ascii: " "))
        out += HTTPResponse.reasonPhrase(status).utf8
        out += "\r\n".utf8
        for (name, value) in headers {
            out += name.utf8
            out += ": ".utf8
            out += value.utf8
            out += "\r\n".utf8
        }
        if status != 101 {
            out += "Content-Length: ".utf8
            out += String(body.count).utf8
            out += "\r\n".utf8
            if !keepAlive { out += "Connection: close\r\n".utf8 }
        }
        out += "\r\n".utf8
        out += body
        return out
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 101: "Switching Protocols"
        case 200: "OK"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 401: "Unauthorized"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}
