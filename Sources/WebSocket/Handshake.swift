import CCrypto

/// The server side of the opening handshake (RFC 6455 section 4.2).
public enum Handshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// A request that asks for a WebSocket, well-formed or not: it gets a handshake answer,
    /// never a plain HTTP route.
    public static func isUpgradeRequest(_ head: HTTPRequestHead) -> Bool {
        head.header("upgrade") != nil || head.header("sec-websocket-key") != nil
    }

    /// The 101 response for a valid upgrade request, or the error response for an invalid one.
    /// No subprotocol or extension is accepted, so offers of them are not echoed.
    public static func respond(to head: HTTPRequestHead) -> HTTPResponse {
        // The messages are fixed text without quotes or backslashes, so they need no escaping.
        func reject(_ status: Int, _ message: StaticString, _ headers: [(name: String, value: String)] = []) -> HTTPResponse {
            (.json(status, "{\"status\":2,\"message\":\"\(message)\",\"data\":{}}", headers: headers))
        }
        guard head.method == "GET" else { return reject(405, "only GET can upgrade", [("Allow", "GET")]) }
        guard head.versionMinor >= 1 else { return reject(400, "WebSocket needs HTTP/1.1") }
        guard head.header("host") != nil else { return reject(400, "missing Host header") }
        guard head.headerTokens("upgrade").contains("websocket") else { return reject(400, "Upgrade header must name websocket") }
        guard head.headerTokens("connection").contains("upgrade") else { return reject(400, "Connection header must include upgrade") }
        guard head.header("sec-websocket-version") == "13" else {
            return reject(426, "only WebSocket version 13 is supported", [("Sec-WebSocket-Version", "13")])
        }
        guard let key = head.header("sec-websocket-key"), decodedLength(ofBase64: key) == 16 else {
            return reject(400, "Sec-WebSocket-Key must be 16 bytes in base64")
        }
        return HTTPResponse(status: 101, headers: [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", acceptValue(forKey: key)),
        ])
    }

    /// base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        let input = Array((key + guid).utf8)
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        _ = SHA1(input, input.count, &digest)
        return base64(digest)
    }

    public static func base64(_ bytes: [UInt8]) -> String {
        var output = [UInt8](repeating: 0, count: (bytes.count + 2) / 3 * 4 + 1)
        let length = EVP_EncodeBlock(&output, bytes, Int32(bytes.count))
        return String(decoding: output.prefix(Int(length)), as: UTF8.self)
    }

    /// The decoded length of canonical padded base64, or nil when it is not base64.
    static func decodedLength(ofBase64 text: String) -> Int? {
        let input = Array(text.utf8)
        guard !input.isEmpty, input.count % 4 == 0 else { return nil }
        var output = [UInt8](repeating: 0, count: input.count / 4 * 3)
        let length = EVP_DecodeBlock(&output, input, Int32(input.count))
        guard length >= 0 else { return nil }
        let padding = input.suffix(2).filter { $0 == UInt8(ascii: "=") }.count
        return Int(length) - padding
    }
}
