import Testing
import WebSocket
@testable import WebSocketDeflate

/// RFC 7692 section 7.1: which offers the server accepts, and what it answers.
struct NegotiationCase: CustomTestStringConvertible, Sendable {
    let offers: [String]
    /// The response header value, or nil when no offer is acceptable.
    let response: String?
    var policy = DeflatePolicy()
    var testDescription: String { offers.joined(separator: " | ") }
}

let negotiationCases: [NegotiationCase] = [
    // Accepted; the default policy always answers both no_context_takeover parameters.
    NegotiationCase(offers: ["permessage-deflate"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    NegotiationCase(offers: ["permessage-deflate; client_max_window_bits"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    NegotiationCase(offers: ["permessage-deflate; client_max_window_bits=10"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits=10"],
                    response: "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover"),
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits=8"],
                    response: "permessage-deflate; server_no_context_takeover; server_max_window_bits=8; client_no_context_takeover"),
    NegotiationCase(offers: ["permessage-deflate;server_no_context_takeover;client_no_context_takeover"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    NegotiationCase(offers: [#"permessage-deflate; client_max_window_bits="12""#],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    NegotiationCase(offers: ["PerMessage-Deflate; Client_Max_Window_Bits"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    // Several offers: the first acceptable one wins.
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits=10, permessage-deflate"],
                    response: "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover"),
    NegotiationCase(offers: ["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    NegotiationCase(offers: ["foo; bar=\"a,b\"", "permessage-deflate"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    // Rejected offers are skipped for the next acceptable one.
    NegotiationCase(offers: ["permessage-deflate; unknown_param, permessage-deflate; client_max_window_bits=9"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=9"],
                    response: "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_no_context_takeover"),
    // Unknown, duplicate or malformed parameters: no compression.
    NegotiationCase(offers: ["permessage-deflate; unknown_param"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; client_max_window_bits; client_max_window_bits=10"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits=16"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits=7"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; server_max_window_bits=010"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; client_max_window_bits=abc"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; server_no_context_takeover=1"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; client_no_context_takeover=\"x\""], response: nil),
    NegotiationCase(offers: ["permessage-deflate; =10"], response: nil),
    NegotiationCase(offers: ["permessage-deflate; client_max_window_bits=\"10"], response: nil),
    NegotiationCase(offers: ["permessage-deflate client_max_window_bits"], response: nil),
    NegotiationCase(offers: ["x-webkit-deflate-frame"], response: nil),
    NegotiationCase(offers: [""], response: nil),
    NegotiationCase(offers: [], response: nil),
    // A policy that keeps the client's context, within a bound.
    NegotiationCase(offers: ["permessage-deflate; client_max_window_bits"],
                    response: "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
                    policy: DeflatePolicy(clientContextWindowBits: 10)),
    NegotiationCase(offers: ["permessage-deflate; client_max_window_bits=9"],
                    response: "permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
                    policy: DeflatePolicy(clientContextWindowBits: 10)),
    NegotiationCase(offers: ["permessage-deflate"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                    policy: DeflatePolicy(clientContextWindowBits: 10)),
    NegotiationCase(offers: ["permessage-deflate"], response: "permessage-deflate; server_no_context_takeover",
                    policy: DeflatePolicy(clientContextWindowBits: 15)),
    NegotiationCase(offers: ["permessage-deflate; client_no_context_takeover; client_max_window_bits"],
                    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                    policy: DeflatePolicy(clientContextWindowBits: 15)),
]

@Suite struct NegotiationTests {
    @Test(arguments: negotiationCases)
    func offerIsAnsweredByThePolicy(_ testCase: NegotiationCase) {
        #expect(testCase.policy.negotiate(headerValues: testCase.offers)?.responseHeaderValue == testCase.response)
    }

    @Test func agreedParametersSayWhichInflaterAndWindow() throws {
        let shared = try #require(DeflatePolicy().negotiate(headerValues: ["permessage-deflate; server_max_window_bits=11"]))
        #expect(shared.serverWindowBits == 11)
        #expect(shared.clientContextWindowBits == nil)
        let own = try #require(DeflatePolicy(clientContextWindowBits: 12).negotiate(headerValues: ["permessage-deflate; client_max_window_bits"]))
        #expect(own.serverWindowBits == 15)
        #expect(own.clientContextWindowBits == 12)
    }

    @Test func headersOfARequestAreRead() throws {
        var parser = RequestHeadParser()
        let request = "GET / HTTP/1.1\r\nHost: localhost\r\nSec-WebSocket-Extensions: foo\r\n"
            + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        guard case .head(let head, _) = Array(request.utf8).withUnsafeBytes({ parser.feed($0) }) else {
            Issue.record("the request did not parse")
            return
        }
        #expect(DeflatePolicy().negotiate(head)?.responseHeaderValue
            == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func parserKeepsParametersInOrderAndUnquotes() {
        #expect(ExtensionOffer.parse([#"a; x=1; y="2"; z, b"#]) == [
            ExtensionOffer(name: "a", parameters: [("x", "1"), ("y", "2"), ("z", nil)]),
            ExtensionOffer(name: "b", parameters: []),
        ])
    }
}
