import Switchboard
import WebSocket

/// Request bodies framed as HTTP/1.1 says (RFC 9112 section 6), so nothing can hide a second
/// request inside a first one: a Content-Length body is read (bounded) before the next request,
/// and Transfer-Encoding, which no route here needs, is refused and the connection closed.
enum RequestBody {
    /// The body's length, or the answer that refuses the request.
    static func length(of head: HTTPRequestHead, limit: Int) -> Result<Int, HTTPResponse> {
        if head.hasHeader(.transferEncoding) {
            return .failure(.json(501, HTTPRoutes.text(Reply(.malformed, "Transfer-Encoding is not supported; send Content-Length"))))
        }
        let found = head.values(of: .contentLength)
        if found.isEmpty { return .success(0) }
        let values = found.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        if values.isEmpty { return .success(0) }
        let texts = Set(values.map { String($0.trimmingSpaces()) })
        guard texts.count == 1, let text = texts.first, !text.isEmpty, text.utf8.count <= 12,
              text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let length = Int(text) else {
            return .failure(.json(400, HTTPRoutes.text(Reply(.malformed, "bad Content-Length"))))
        }
        guard length <= limit else {
            return .failure(.json(413, HTTPRoutes.text(Reply(.malformed, "request body larger than \(limit) bytes"))))
        }
        return .success(length)
    }
}

/// A body being read: the head it belongs to, the bytes so far, and the parser to go back to.
final class PendingBody {
    let head: HTTPRequestHead
    let length: Int
    let parser: RequestHeadParser
    private(set) var bytes: [UInt8] = []

    init(head: HTTPRequestHead, length: Int, parser: RequestHeadParser) {
        self.head = head
        self.length = length
        self.parser = parser
        bytes.reserveCapacity(length)
    }

    var isComplete: Bool { bytes.count == length }

    /// Takes what belongs to the body from `input`; returns how many bytes it took.
    func take(_ input: UnsafeRawBufferPointer) -> Int {
        let count = min(length - bytes.count, input.count)
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[0..<count]))
        return count
    }
}
