/// The 101 answer to a valid upgrade request: its accept value held inline, written straight
/// into the bytes that go out (no `HTTPResponse`, no String for the value).
public struct SwitchingProtocols: Sendable {
    /// The Sec-WebSocket-Accept value's 28 bytes.
    private var accept: (UInt64, UInt64, UInt64, UInt32) = (0, 0, 0, 0)
    /// Sec-WebSocket-Extensions, when an extension was agreed.
    public var extensions: String?

    init(key: UnsafeRawBufferPointer) {
        withUnsafeMutableBytes(of: &accept) { Handshake.writeAcceptValue(forKey: key, into: $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    private static let head: StaticString = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
    private static let extensionsName: StaticString = "Sec-WebSocket-Extensions: "

    /// The same response as an `HTTPResponse` (what `Handshake.respond(to:)` returns).
    public var response: HTTPResponse {
        var headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue)]
        if let extensions { headers.append(("Sec-WebSocket-Extensions", extensions)) }
        return HTTPResponse(status: 101, headers: headers)
    }

    /// The Sec-WebSocket-Accept value.
    public var acceptValue: String {
        withUnsafeBytes(of: accept) { String(decoding: $0.prefix(Handshake.acceptLength), as: UTF8.self) }
    }

    /// The serialized answer for `body`, byte for byte what `response.serialized` gives.
    public func withSerialized<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let head = SwitchingProtocols.head, extensionsName = SwitchingProtocols.extensionsName
        let extensionsSize = extensions.map { extensionsName.utf8CodeUnitCount + $0.utf8.count + 2 } ?? 0
        let size = head.utf8CodeUnitCount + Handshake.acceptLength + 2 + extensionsSize + 2
        return withUnsafeTemporaryAllocation(byteCount: size, alignment: 1) { buffer in
            let base = buffer.baseAddress!
            var offset = 0
            func put(_ bytes: UnsafeRawPointer, _ count: Int) {
                (base + offset).copyMemory(from: bytes, byteCount: count)
                offset += count
            }
            func put(_ text: StaticString) { put(text.utf8Start, text.utf8CodeUnitCount) }
            put(head)
            withUnsafeBytes(of: accept) { put($0.baseAddress!, Handshake.acceptLength) }
            put("\r\n")
            if let extensions {
                put(extensionsName)
                extensions.withBytes { if let start = $0.baseAddress { put(start, $0.count) } }
                put("\r\n")
            }
            put("\r\n")
            return body(UnsafeRawBufferPointer(start: base, count: offset))
        }
    }
}
