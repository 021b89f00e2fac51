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
        withSerialized(keepAlive: keepAlive) { Array($0) }
    }

    /// The serialized response for `body`, in temporary memory (on the stack when small: making
    /// an array of bytes looks its type up in the runtime, about 500 instructions).
    public func withSerialized<Result>(keepAlive: Bool, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        // Measured first, then copied into place: appending piece by piece (each a capacity and
        // uniqueness check) and String(Int) cost more than the rest of a handshake's answer.
        let reason = HTTPResponse.reasonPhrase(status)
        let hasLength = status != 101
        var size = 9 + HTTPResponse.digits(status) + 1 + reason.utf8.count + 2 + 2 + self.body.count
        for (name, value) in headers { size += name.utf8.count + 2 + value.utf8.count + 2 }
        if hasLength { size += 16 + HTTPResponse.digits(self.body.count) + 2 + (keepAlive ? 0 : 19) }
        return withUnsafeTemporaryAllocation(byteCount: size, alignment: 1) { buffer in
            var writer = Writer(base: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            writer.put("HTTP/1.1 ")
            writer.put(number: status)
            writer.put(" ")
            writer.put(reason)
            writer.put("\r\n")
            for (name, value) in headers {
                writer.put(name)
                writer.put(": ")
                writer.put(value)
                writer.put("\r\n")
            }
            if hasLength {
                writer.put("Content-Length: ")
                writer.put(number: self.body.count)
                writer.put("\r\n")
                if !keepAlive { writer.put("Connection: close\r\n") }
            }
            writer.put("\r\n")
            self.body.withUnsafeBytes { writer.put(bytes: $0) }
            return body(UnsafeRawBufferPointer(start: buffer.baseAddress, count: writer.offset))
        }
    }

    /// Characters of `value` in decimal (a minus sign counted).
    private static func digits(_ value: Int) -> Int {
        (value < 0 ? 1 : 0) + digits(magnitude: value.magnitude)
    }

    private static func digits(magnitude: UInt) -> Int {
        var count = 1
        var rest = magnitude / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        return count
    }

    /// Copies into memory sized for everything put (see `serialized`).
    private struct Writer {
        let base: UnsafeMutablePointer<UInt8>
        var offset = 0

        mutating func put(_ text: StaticString) {
            (base + offset).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            offset += text.utf8CodeUnitCount
        }

        mutating func put(_ text: String) {
            text.withBytes { put(bytes: UnsafeRawBufferPointer($0)) }
        }

        mutating func put(bytes: UnsafeRawBufferPointer) {
            guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
            UnsafeMutableRawPointer(base + offset).copyMemory(from: source, byteCount: bytes.count)
            offset += bytes.count
        }

        mutating func put(number: Int) {
            if number < 0 { put("-") }
            let count = HTTPResponse.digits(magnitude: number.magnitude)
            var rest = number.magnitude
            for index in stride(from: count - 1, through: 0, by: -1) {
                base[offset + index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            offset += count
        }
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
