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
        // Appended as bytes, each string copied whole: string interpolation, or appending a
        // String's UTF-8 view element by element, cost more than the rest of a handshake's answer.
        var out: [UInt8] = []
        out.reserveCapacity(160 + body.count)
        HTTPResponse.append("HTTP/1.1 ", to: &out)
        HTTPResponse.append(String(status), to: &out)
        out.append(UInt8(ascii: " "))
        HTTPResponse.append(HTTPResponse.reasonPhrase(status), to: &out)
        HTTPResponse.append("\r\n", to: &out)
        for (name, value) in headers {
            HTTPResponse.append(name, to: &out)
            HTTPResponse.append(": ", to: &out)
            HTTPResponse.append(value, to: &out)
            HTTPResponse.append("\r\n", to: &out)
        }
        if status != 101 {
            HTTPResponse.append("Content-Length: ", to: &out)
            HTTPResponse.append(String(body.count), to: &out)
            HTTPResponse.append("\r\n", to: &out)
            if !keepAlive { HTTPResponse.append("Connection: close\r\n", to: &out) }
        }
        HTTPResponse.append("\r\n", to: &out)
        out += body
        return out
    }

    @inline(__always)
    private static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
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
