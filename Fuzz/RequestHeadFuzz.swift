// libFuzzer entry for the HTTP request-head parser and the handshake: split into reads at sizes
// from the first byte; whatever the bytes, the parser answers within 8 KiB and never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let step = Int(data[0]) + 1
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var parser = RequestHeadParser()
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + step, bytes.count)
        switch parser.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) {
        case .needMore:
            precondition(parser.bufferedBytes < RequestHeadParser.maxHeadBytes)
            offset = end
        case .head(let head, let consumed):
            precondition(consumed > 0 && consumed <= end - offset)
            _ = Handshake.respond(to: head).serialized(keepAlive: head.keepAlive)
            checkLookups(head)
            offset += consumed
        case .failure(let status, _):
            precondition([400, 431, 505].contains(status))
            return 0
        }
    }
    return 0
}

/// The lookups that go through the parser's notes (KnownHeader) agree with a walk over `headers`,
/// and the server's 101 with the response's.
func checkLookups(_ head: HTTPRequestHead) {
    let names: [(KnownHeader, String)] = [
        (.host, "host"), (.upgrade, "upgrade"), (.connection, "connection"), (.secWebSocketKey, "sec-websocket-key"),
        (.secWebSocketVersion, "sec-websocket-version"), (.secWebSocketExtensions, "sec-websocket-extensions"),
        (.contentLength, "content-length"), (.transferEncoding, "transfer-encoding"), (.origin, "origin"), (.authorization, "authorization"),
    ]
    // Not "": hasToken counts an empty part where headerTokens drops it (as it always did).
    let tokens: [StaticString] = ["websocket", "upgrade", "close", "keep-alive"]
    let all = head.headers
    for (known, name) in names {
        let fields = all.filter { $0.name == name }
        precondition(head.hasHeader(known) == !fields.isEmpty && head.hasHeader(name) == !fields.isEmpty)
        precondition(head.header(known) == fields.first?.value && head.header(name) == fields.first?.value)
        precondition(head.values(of: known) == fields.map(\.value) && head.values(of: name) == fields.map(\.value))
        let ascii = fields.first.flatMap { $0.value.utf8.allSatisfy { $0 < 0x80 } ? Array($0.value.utf8) : nil }
        precondition(head.withASCIIHeader(known, { Array($0) }) == ascii)
        for token in tokens {
            let expected = head.headerTokens(name).contains { $0 == "\(token)" }
            precondition(head.hasToken(known, token) == expected && head.hasToken(name, "\(token)") == expected)
        }
        if known == .secWebSocketKey, let key = ascii {
            precondition(key.withUnsafeBytes { Handshake.isSixteenByteKey($0) } == (Handshake.decodedLength(ofBase64: String(decoding: key, as: UTF8.self)) == 16))
        }
    }
    if case .success(let answer) = Handshake.accept(head) {
        precondition(answer.withSerialized { Array($0) } == Handshake.respond(to: head).serialized(keepAlive: true))
    }
}
