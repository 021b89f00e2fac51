import Testing
import TLS

@Suite struct FirstBytesTests {
    @Test func clientHelloIsRecognised() throws {
        let client = TestClient()
        client.handshake()
        let hello = client.takeOutput()
        #expect(hello.withUnsafeBytes(FirstBytes.lookLikeTLSClientHello))
        #expect(!hello.withUnsafeBytes(FirstBytes.lookLikePlainHTTP))
        #expect([UInt8(0x16)].withUnsafeBytes(FirstBytes.lookLikeTLSClientHello), "one byte is enough to tell")
    }

    @Test(arguments: ["GET / HTTP/1.1\r\n", "POST /pair HTTP/1.1\r\n", "OPTIONS * HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n"])
    func httpRequestIsNotTLS(_ request: String) {
        let bytes = Array(request.utf8)
        #expect(!bytes.withUnsafeBytes(FirstBytes.lookLikeTLSClientHello))
        #expect(bytes.withUnsafeBytes(FirstBytes.lookLikePlainHTTP))
    }

    @Test func emptyAndOtherBytesAreNeither() {
        for bytes: [UInt8] in [[], [0x16, 0x01], [0x80, 0x2B, 0x01], [0x17, 0x03, 0x03]] {
            #expect(!bytes.withUnsafeBytes(FirstBytes.lookLikeTLSClientHello))
            #expect(!bytes.withUnsafeBytes(FirstBytes.lookLikePlainHTTP))
        }
    }
}
