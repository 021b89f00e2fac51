// The fuzzers compile the SHA1 sources into this module (Makefile): no module to import then.
#if canImport(SHA1)
import SHA1
#endif

/// The server side of the opening handshake (RFC 6455 section 4.2).
public enum Handshake {
    static let guid: StaticString = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// A request that asks for a WebSocket, well-formed or not: it gets a handshake answer,
    /// never a plain HTTP route.
    public static func isUpgradeRequest(_ head: HTTPRequestHead) -> Bool {
        head.hasHeader(.upgrade) || head.hasHeader(.secWebSocketKey)
    }

    /// The 101 response for a valid upgrade request, or the error response for an invalid one.
    /// No subprotocol or extension is accepted, so offers of them are not echoed.
    public static func respond(to head: HTTPRequestHead) -> HTTPResponse {
        switch accept(head) {
        case .failure(let refusal): refusal
        case .success(let answer): answer.response
        }
    }

    /// `respond(to:)` for the server: a valid request's 101 as a `SwitchingProtocols`, which is
    /// written without an `HTTPResponse` (its array of header tuples cost about 1,100
    /// instructions a handshake to build and free).
    public static func accept(_ head: HTTPRequestHead) -> Result<SwitchingProtocols, HTTPResponse> {
        // The messages are fixed text without quotes or backslashes, so they need no escaping.
        func reject(_ status: Int, _ message: StaticString, _ headers: [(name: String, value: String)] = []) -> Result<SwitchingProtocols, HTTPResponse> {
            .failure(.json(status, "{\"status\":2,\"message\":\"\(message)\",\"data\":{}}", headers: headers))
        }
        guard head.method == "GET" else { return reject(405, "only GET can upgrade", [("Allow", "GET")]) }
        guard head.versionMinor >= 1 else { return reject(400, "WebSocket needs HTTP/1.1") }
        guard head.hasHeader(.host) else { return reject(400, "missing Host header") }
        guard head.hasToken(.upgrade, "websocket") else { return reject(400, "Upgrade header must name websocket") }
        guard head.hasToken(.connection, "upgrade") else { return reject(400, "Connection header must include upgrade") }
        // As bytes: a value that is not ASCII cannot be "13" (no String made for it).
        guard head.withASCIIHeader(.secWebSocketVersion, { $0.count == 2 && $0[0] == UInt8(ascii: "1") && $0[1] == UInt8(ascii: "3") }) == true else {
            return reject(426, "only WebSocket version 13 is supported", [("Sec-WebSocket-Version", "13")])
        }
        // From the head's bytes: the key is never made a String.
        guard let answer = head.withASCIIHeader(.secWebSocketKey, { key in
            isSixteenByteKey(key) ? SwitchingProtocols(key: key) : nil
        }) else {
            return reject(400, "Sec-WebSocket-Key must be 16 bytes in base64")
        }
        return .success(answer)
    }

    /// base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        key.withBytes { acceptValue(forKey: UnsafeRawBufferPointer($0)) }
    }

    static func acceptValue(forKey keyBytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: acceptLength) { output in
            writeAcceptValue(forKey: keyBytes, into: output.baseAddress!)
            return acceptLength
        }
    }

    /// Characters of an accept value: base64 of a 20-byte digest.
    static let acceptLength = 28

    /// Writes the accept value for `keyBytes` (`acceptLength` bytes) at `output`.
    static func writeAcceptValue(forKey keyBytes: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) {
        // On the stack: the key and GUID side by side, then the digest (no arrays per handshake).
        let total = keyBytes.count + guid.utf8CodeUnitCount
        withUnsafeTemporaryAllocation(byteCount: total + 20, alignment: 8) { scratch in
            let base = scratch.baseAddress!
            if let start = keyBytes.baseAddress { base.copyMemory(from: start, byteCount: keyBytes.count) }
            (base + keyBytes.count).copyMemory(from: guid.utf8Start, byteCount: guid.utf8CodeUnitCount)
            SHA1Digest.hash(UnsafeRawBufferPointer(start: base, count: total), into: base + total)
            _ = base64(UnsafeRawBufferPointer(start: base + total, count: 20), into: output)
        }
    }

    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// Padded base64 (RFC 4648 section 4).
    public static func base64(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { base64($0) }
    }

    static func base64(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: (bytes.count + 2) / 3 * 4) { base64(bytes, into: $0.baseAddress!) }
    }

    /// Writes padded base64 of `bytes` at `output`; returns how many bytes it wrote.
    static func base64(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) -> Int {
        var out = 0
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            let group = UInt32(bytes[index]) << 16 | (count > 1 ? UInt32(bytes[index + 1]) << 8 : 0) | (count > 2 ? UInt32(bytes[index + 2]) : 0)
            for k in 0..<4 {
                output[out + k] = k <= count ? alphabet.utf8Start[Int(group >> UInt32(18 - 6 * k) & 0x3F)] : UInt8(ascii: "=")
            }
            out += 4
            index += 3
        }
        return out
    }

    /// The decoded length of canonical padded base64, or nil when it is not base64.
    static func decodedLength(ofBase64 text: String) -> Int? {
        text.withBytes(decodedLength)
    }

    /// Every character from the alphabet, '=' only as the last one or two.
    private static func decodedLength(_ input: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !input.isEmpty, input.count % 4 == 0 else { return nil }
        var padding = 0
        for (index, byte) in input.enumerated() {
            if byte == UInt8(ascii: "=") {
                guard index >= input.count - 2 else { return nil }
                padding += 1
            } else {
                guard padding == 0, isBase64(byte) else { return nil }
            }
        }
        return input.count / 4 * 3 - padding
    }

    /// Whether `key` decodes to 16 bytes (`decodedLength == 16`): in padded base64 that is 24
    /// characters, the last two '=' and the rest from the alphabet (the general walk cost about
    /// 900 instructions a handshake).
    static func isSixteenByteKey(_ key: UnsafeRawBufferPointer) -> Bool {
        guard key.count == 24, key[22] == UInt8(ascii: "="), key[23] == UInt8(ascii: "=") else { return false }
        let table = base64Bytes
        for index in 0..<22 where !table[Int(key[index])] { return false }
        return true
    }

    /// For each byte: whether it is in the base64 alphabet. Made once, never freed.
    nonisolated(unsafe) private static let base64Bytes: UnsafePointer<Bool> = {
        let table = UnsafeMutablePointer<Bool>.allocate(capacity: 256)
        for byte in 0..<256 { table[byte] = isBase64(UInt8(byte)) }
        return UnsafePointer(table)
    }()

    private static func isBase64(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "+"), UInt8(ascii: "/"): true
        default: false
        }
    }
}
