import Foundation
import Testing
@testable import WebSocketDeflate

/// Cross-checks with Python's `websockets`, an independent RFC 7692 implementation: its clients'
/// compressed messages and offers (Fixtures/python-deflated.json), and this deflater's output
/// for it to inflate (Fixtures/swift-deflated.json, checked by `websockets_deflate.py check`).
@Suite struct PythonCrossCheckTests {
    struct PythonFixture: Decodable {
        struct Offer: Decodable { let name: String; let header: String }
        struct Message: Codable { let name: String; let plain: String; let compressed: String }
        struct Sequence: Decodable { let name: String; let clientWindowBits: Int; let keepsContext: Bool; let messages: [Message] }
        let offers: [Offer]
        let sequences: [Sequence]
    }

    struct SwiftFixture: Codable, Equatable {
        struct Negotiation: Codable, Equatable { let offer: String; let response: String }
        struct Message: Codable, Equatable { let name: String; let serverWindowBits: Int; let plain: String; let compressed: String }
        let negotiations: [Negotiation]
        let messages: [Message]
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    private func loadPython() throws -> PythonFixture {
        try JSONDecoder().decode(PythonFixture.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("python-deflated.json")))
    }

    @Test func messagesCompressedByWebsocketsInflate() throws {
        let fixture = try loadPython()
        #expect(fixture.sequences.count == 2)
        for sequence in fixture.sequences {
            let inflater = MessageInflater(maxMessageBytes: 1 << 20, windowBits: sequence.keepsContext ? sequence.clientWindowBits : 15,
                                           keepsContext: sequence.keepsContext)
            for message in sequence.messages {
                let inflated = inflater.inflate(fromHex(message.compressed))
                #expect(inflated == .success(fromHex(message.plain)), "\(sequence.name): \(message.name)")
            }
        }
    }

    @Test func offersOfWebsocketsClientsAreAccepted() throws {
        let fixture = try loadPython()
        let expected = [
            "websockets client default": "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            "no context takeover either way": "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            "small windows": "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover",
            "no client_max_window_bits": "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ]
        for offer in fixture.offers {
            #expect(DeflatePolicy().negotiate(headerValues: [offer.header])?.responseHeaderValue == expected[offer.name], "\(offer.name)")
        }
    }

    /// The committed swift-deflated.json is what this code produces now, so the Python check of it
    /// still speaks for the current deflater. WRITE_SWIFT_DEFLATED=1 rewrites it.
    @Test func swiftFixtureIsCurrent() throws {
        let current = try makeSwiftFixture()
        let url = Self.fixtures.appendingPathComponent("swift-deflated.json")
        if ProcessInfo.processInfo.environment["WRITE_SWIFT_DEFLATED"] == "1" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(current).write(to: url)
        }
        let committed = try JSONDecoder().decode(SwiftFixture.self, from: Data(contentsOf: url))
        #expect(committed == current)
    }

    private func makeSwiftFixture() throws -> SwiftFixture {
        let offers = try loadPython().offers.map(\.header)
        var negotiations: [SwiftFixture.Negotiation] = []
        for policy in [DeflatePolicy(), DeflatePolicy(clientContextWindowBits: 10)] {
            for offer in offers {
                if let agreed = policy.negotiate(headerValues: [offer]) {
                    negotiations.append(.init(offer: offer, response: agreed.responseHeaderValue))
                }
            }
        }
        let deflater = MessageDeflater()
        let samples: [(String, [UInt8])] = [
            ("Hello", Array("Hello".utf8)),
            ("1 KiB JSON", jsonMessage(bytes: 1024)),
            ("4 KiB JSON", jsonMessage(bytes: 4096, seed: 2)),
            ("unicode", Array(String(repeating: "héllo wörld ✓ ", count: 40).utf8)),
            ("empty", []),
        ]
        var messages: [SwiftFixture.Message] = []
        for windowBits in [15, 10, 8] {
            for (name, plain) in samples {
                messages.append(.init(name: name, serverWindowBits: windowBits, plain: toHex(plain),
                                      compressed: toHex(deflater.deflate(plain, windowBits: windowBits))))
            }
        }
        return SwiftFixture(negotiations: negotiations, messages: messages)
    }
}

private func fromHex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

private func toHex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
