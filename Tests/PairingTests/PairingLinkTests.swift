import Testing
@testable import Pairing

@Suite struct PairingLinkTests {
    @Test func publicURLWinsOverHost() {
        #expect(PairingLink.url(box: "box-1", publicURL: "https://tv.example.com/", host: "evil") == "https://tv.example.com/remote?box=box-1")
        #expect(PairingLink.url(box: "box-1", publicURL: "https://tv.example.com/tether", host: nil) == "https://tv.example.com/tether/remote?box=box-1")
    }

    @Test func hostHeaderGivesAnHTTPURL() {
        #expect(PairingLink.url(box: "b:1@x~y", publicURL: nil, host: "127.0.0.1:8080") == "http://127.0.0.1:8080/remote?box=b:1@x~y")
        #expect(PairingLink.url(box: "b", publicURL: nil, host: "[::1]:8080") == "http://[::1]:8080/remote?box=b")
    }

    @Test(arguments: [nil, "", "a b", "a/b", "x\"><script>", "host?q"])
    func unusableHostGivesNoURL(host: String?) {
        #expect(PairingLink.url(box: "b", publicURL: nil, host: host) == nil)
    }

    @Test func publicURLRules() {
        #expect(PairingLink.problem(withPublicURL: "https://tv.example.com") == nil)
        #expect(PairingLink.problem(withPublicURL: "http://10.0.0.2:8080/") == nil)
        #expect(PairingLink.problem(withPublicURL: "ftp://x") != nil)
        #expect(PairingLink.problem(withPublicURL: "tv.example.com") != nil)
        #expect(PairingLink.problem(withPublicURL: "https://") != nil)
        #expect(PairingLink.problem(withPublicURL: "https://x/?a=1") != nil)
    }
}
