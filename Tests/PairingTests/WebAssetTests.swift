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

    @Test func theConsoleLinksOnlyToAssetsThatExistAndLoadsNothingFromElsewhere() throws {
        let page = try #require(WebAsset.console(at: "/console"))
        let html = String(decoding: page.body, as: UTF8.self)
        let references = html.matches(of: #/(?:src|href)="([^"]*)"/#).map { String($0.output.1) }
        for reference in references where reference != "#main" {
            #expect(reference.hasPrefix("/static/"), "\(reference) is not one of the server's own assets")
            #expect(WebAsset.console(at: reference) ?? WebAsset.at(reference) != nil, "the console links to missing \(reference)")
        }
        for script in ["/static/console.js", "/static/console-charts.js"] {
            let source = String(decoding: try #require(WebAsset.console(at: script)).body, as: UTF8.self)
                .replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")   // a namespace, not a fetch
            #expect(!source.contains("http://") && !source.contains("https://"), "\(script) names another origin")
            #expect(!source.contains("localStorage") && !source.contains("sessionStorage"), "\(script) keeps something in storage")
        }
        #expect(WebAsset.at("/console") == nil)   // served only through the console's own switch
    }
}
