import Testing
@testable import Switchboard

private func scan(_ json: String) -> Result<Envelope, Envelope.Problem> {
    Array(json.utf8).withUnsafeBytes { Envelope.scan($0) }
}

private func isMalformed(_ json: String) -> Bool {
    if case .failure(.malformed) = scan(json) { return true }
    return false
}

@Suite struct EnvelopeTests {
    @Test func findsRoutingFieldsAndKeepsOthers() throws {
        let envelope = try scan(#"{"id":7,"from":"phone-1","to":"box-1","msg":{"k":[1,2,{"x":null}]},"extra":true}"#).get()
        #expect(envelope.from == "phone-1")
        #expect(envelope.to == "box-1")
        #expect(envelope.idJSON == Array("7".utf8))
    }

    @Test func decodesEscapesInIds() throws {
        let envelope = try scan(#"{"from":"a\u0062c","to":"b\/x","msg":"\ud83d\ude00"}"#).get()
        #expect(envelope.from == "abc")
        #expect(envelope.to == "b/x")
    }

    @Test("RFC 8259: invalid JSON is malformed", arguments: [
        "", "{", "{}x", #"{"from":"a","to":"b","msg":01}"#, #"{"from":"a","to":"b","msg":tru}"#,
        #"{"from":"a","to":"b","msg":"\x"}"#, "{\"from\":\"a\",\"to\":\"b\",\"msg\":\"\u{01}\"}",
        #"{"from":"a","to":"b","msg":[1,]}"#, #"{"from":"a","to":"b","msg":1.}"#, #"{"from":"a" "to":"b"}"#,
        #"{from:"a"}"#, #"{"from":"a","to":"b","msg":"x"}}"#,
    ])
    func invalidJSON(_ json: String) { #expect(isMalformed(json)) }

    @Test("envelope rules", arguments: [
        #"["from","to"]"#, #"{"to":"b","msg":1}"#, #"{"from":"a","msg":1}"#, #"{"from":"a","to":"b"}"#,
        #"{"from":1,"to":"b","msg":1}"#, #"{"from":"a","to":["b"],"msg":1}"#, #"{"from":"a","to":"b","to":"c","msg":1}"#,
    ])
    func missingOrIllTyped(_ json: String) { #expect(isMalformed(json)) }

    @Test func nestingIsLimitedTo64() {
        let ok = #"{"from":"a","to":"b","msg":"# + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}"
        let deep = #"{"from":"a","to":"b","msg":"# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        #expect(!isMalformed(ok))
        #expect(isMalformed(deep))
    }

    @Test func numbersLiteralsAndWhitespace() {
        #expect(!isMalformed(" {\"from\" : \"a\" ,\n\"to\":\"b\",\t\"msg\":[-0.5e+10, 0, 12.25E-3, true, false, null, \"\"]} "))
    }
}
