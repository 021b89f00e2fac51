import Testing
import WebSocket

private enum Parsed: Equatable {
    case head(method: String, path: String, query: [String], headers: Int, consumed: Int)
    case failure(Int)
    case needMore
}

/// Feeds `text` in the given chunks and reports the first outcome that is not `needMore`.
private func parse(_ text: String, chunks: [Int]? = nil) -> Parsed {
    let bytes = Array(text.utf8)
    var parser = RequestHeadParser()
    var offset = 0
    for size in chunks ?? [bytes.count] {
        let chunk = Array(bytes[offset..<offset + size])
        let consumedBefore = offset
        offset += size
        let outcome = chunk.withUnsafeBytes { parser.feed($0) }
        switch outcome {
        case .needMore: continue
        case .failure(let status, _): return .failure(status)
        case .head(let head, let consumed):
            return .head(method: head.method, path: head.path, query: head.query.map { "\($0.name)=\($0.value)" },
                         headers: head.headers.count, consumed: consumedBefore + consumed)
        }
    }
    return .needMore
}

/// The head `text` parses to in one feed, or nil.
private func parsedHead(_ text: String) -> HTTPRequestHead? {
    var parser = RequestHeadParser()
    guard case .head(let head, _) = Array(text.utf8).withUnsafeBytes({ parser.feed($0) }) else { return nil }
    return head
}

private func allChunkingsAgree(_ text: String) -> Bool {
    let whole = parse(text)
    return chunkings(of: text.utf8.count).allSatisfy { parse(text, chunks: $0) == whole }
}

@Suite struct RequestHeadParserTests {
    @Test func parsesPathQueryAndHeadersUnderEveryChunking() {
        let request = "GET /box%2042?device_id=a%3Ab&queryStatus=x,y&flag HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\n\r\nEXTRA"
        #expect(parse(request) == .head(method: "GET", path: "/box 42", query: ["device_id=a:b", "queryStatus=x,y", "flag="],
                                        headers: 3, consumed: request.utf8.count - 5))
        #expect(allChunkingsAgree(request))
    }

    @Test func bareLineFeedsAreTolerated() {
        #expect(parse("GET / HTTP/1.1\nHost: h\n\n") == .head(method: "GET", path: "/", query: [], headers: 1, consumed: 24))
    }

    @Test("malformed heads are 400", arguments: [
        "GET\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n", "GET nopath HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "GET /%zz HTTP/1.1\r\n\r\n",
        "GET / FTP/1.0\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
    ])
    func malformed(_ request: String) {
        #expect(parse(request) == .failure(400))
        #expect(allChunkingsAgree(request))
    }

    @Test func http2RequestLineIs505() {
        #expect(parse("GET / HTTP/2.0\r\n\r\n") == .failure(505))
    }

    @Test func headOver8KiBIs431EvenWithoutTerminator() {
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000)
        #expect(parse(big) == .failure(431))
    }

    @Test func aHeadOfExactly8KiBIsAcceptedAndOneByteMoreIsNot() {
        let prefix = "GET / HTTP/1.1\r\nX: "
        let value = RequestHeadParser.maxHeadBytes - prefix.utf8.count - 4
        let fits = prefix + String(repeating: "a", count: value) + "\r\n\r\n"
        #expect(parse(fits) == .head(method: "GET", path: "/", query: [], headers: 1, consumed: RequestHeadParser.maxHeadBytes))
        #expect(parse(fits, chunks: [5000, fits.utf8.count - 5000]) == parse(fits))
        let over = prefix + String(repeating: "a", count: value + 1) + "\r\n\r\n"
        #expect(parse(over) == .failure(431))
        #expect(parse(over, chunks: [8190, over.utf8.count - 8190]) == .failure(431))
    }

    @Test func headerValuesAreTrimmedAndNamesLowerCased() throws {
        let text = "GET / HTTP/1.1\r\nX-Thing: \t spaced value \t\r\nConnection: keep-alive ,  Upgrade\r\n\r\n"
        let head = try #require(parsedHead(text))
        #expect(head.headers.map(\.name) == ["x-thing", "connection"])
        #expect(head.header("X-THING") == "spaced value")
        #expect(head.hasToken("connection", "upgrade") && head.hasToken("Connection", "keep-alive"))
        #expect(!head.hasToken("connection", "close") && !head.hasToken("x-thing", "spaced"))
        #expect(head.headerTokens("connection") == ["keep-alive", "upgrade"])
    }

    @Test func namesOfAKnownNamesLengthAreLowerCasedWhetherKnownOrNot() throws {
        let text = "GET / HTTP/1.1\r\nHOST: a\r\nHosT-: b\r\nX-HoSt: c\r\nUser-Agent: d\r\nCONNECTION: e\r\nConnectioN: f\r\n"
            + "X-Connect1: g\r\nSec-WebSocket-KEY: h\r\nSec-WebSocket-Kez: i\r\n\r\n"
        let head = try #require(parsedHead(text))
        #expect(head.headers.map(\.name) == ["host", "host-", "x-host", "user-agent", "connection", "connection", "x-connect1",
                                             "sec-websocket-key", "sec-websocket-kez"])
        #expect(head.headers.map(\.value) == ["a", "b", "c", "d", "e", "f", "g", "h", "i"])
    }

    @Test func valuesKeepTheirBytesWhetherCommonOrNot() throws {
        let text = "GET / HTTP/1.1\r\nA: 13\r\nB: 14\r\nC: Upgrade\r\nD: upgrade\r\nE: websocket\r\nF: WebSocket\r\nG:  websocket \r\n\r\n"
        let head = try #require(parsedHead(text))
        #expect(head.headers.map(\.value) == ["13", "14", "Upgrade", "upgrade", "websocket", "WebSocket", "websocket"])
        #expect(head.headers.map { Array($0.value.utf8) } == ["13", "14", "Upgrade", "upgrade", "websocket", "WebSocket", "websocket"].map { Array($0.utf8) })
    }

    @Test func tokensMatchWholeAndCaseBlindAndHeadersByAnyCase() throws {
        let text = "GET / HTTP/1.1\r\nUpgrade: h2c, WebSocket \r\nX-Long-Header-Name: v\r\n\r\n"
        let head = try #require(parsedHead(text))
        #expect(head.hasToken("upgrade", "websocket") && head.hasToken("UPGRADE", "h2c"))
        #expect(!head.hasToken("upgrade", "websocke") && !head.hasToken("upgrade", "websockets") && !head.hasToken("upgrade", ""))
        #expect(head.header("x-long-header-name") == "v" && head.header("X-Long-Header-NAME") == "v")
        #expect(head.header("x-long-header-nam") == nil && head.header("Host") == nil)
    }

    @Test func emptyQueryPairsAreSkippedAsSplitDid() {
        #expect(parse("GET /?&&a=1&&b&=2& HTTP/1.1\r\n\r\n") == .head(method: "GET", path: "/", query: ["a=1", "b=", "=2"], headers: 0, consumed: 31))
        #expect(parse("GET /? HTTP/1.1\r\n\r\n") == .head(method: "GET", path: "/", query: [], headers: 0, consumed: 19))
    }

    @Test("the version is HTTP/1. and one digit", arguments: [
        ("HTTP/1.1", 200), ("HTTP/1.0", 200), ("HTTP/1.9", 200), ("HTTP/1.x", 505), ("HTTP/1.10", 505), ("http/1.1", 400),
        ("HTTP/1/1", 505), ("HTTP-1.1", 400),
    ])
    func versions(_ version: String, _ status: Int) {
        let outcome = parse("GET / \(version)\r\n\r\n")
        if status == 200 {
            guard case .head = outcome else { return #expect(Bool(false), "\(version) refused") }
        } else {
            #expect(outcome == .failure(status))
        }
    }

    @Test func moreThan64HeadersIs431() {
        let many = "GET / HTTP/1.1\r\n" + (0..<65).map { "H\($0): v\r\n" }.joined() + "\r\n"
        #expect(parse(many) == .failure(431))
        let allowed = "GET / HTTP/1.1\r\n" + (0..<64).map { "H\($0): v\r\n" }.joined() + "\r\n"
        if case .head = parse(allowed) {} else { Issue.record("64 headers must be accepted") }
    }

    @Test func incompleteHeadNeedsMore() {
        #expect(parse("GET / HTTP/1.1\r\nHost: x\r\n") == .needMore)
    }
}
