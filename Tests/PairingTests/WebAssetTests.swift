import Testing
@testable import Pairing

@Suite struct WebAssetTests {
    @Test(arguments: ["/", "/box", "/remote"])
    func everyPageLinksOnlyToAssetsThatExist(path: String) throws {
        let page = try #require(WebAsset.at(path))
        #expect(page.contentType.hasPrefix("text/html"))
        let html = String(decoding: page.body, as: UTF8.self)
        let references = html.matches(of: #/(?:src|href)="(/[^"]*)"/#).map { String($0.output.1) }
        #expect(!references.isEmpty)
        for reference in references where reference.hasPrefix("/static/") || reference == "/docs/protocol.md" {
            #expect(WebAsset.at(reference) != nil, "\(path) links to missing \(reference)")
        }
    }

    @Test func scriptsAndStylesHaveTheirTypes() throws {
        #expect(try #require(WebAsset.at("/static/box.js")).contentType.hasPrefix("text/javascript"))
        #expect(try #require(WebAsset.at("/static/tether.css")).contentType.hasPrefix("text/css"))
        #expect(try #require(WebAsset.at("/docs/protocol.md")).body.starts(with: Array("# Tether wire protocol".utf8)))
        #expect(WebAsset.at("/static/missing.js") == nil)
    }
}
