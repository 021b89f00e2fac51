import CZlib
import Foundation
import Testing
@testable import Pairing

private let goldenURL = "http://tv.example:8080/remote?box=box-golden"
private let goldenFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

@Suite struct QRCodeTests {
    @Test func symbolHasFinderPatternsInThreeCorners() throws {
        let code = try #require(QRCode(encoding: goldenURL))
        #expect(code.size >= 21 && (code.size - 21) % 4 == 0)
        // A finder is a dark 7x7 ring, a light ring inside it and a dark 3x3 centre.
        for (top, left) in [(0, 0), (0, code.size - 7), (code.size - 7, 0)] {
            for row in 0..<7 {
                for column in 0..<7 {
                    let ring = max(abs(row - 3), abs(column - 3))
                    #expect(code.isDark(row: top + row, column: left + column) == (ring != 2), "finder at \(top),\(left) cell \(row),\(column)")
                }
            }
        }
        // The fourth corner has no finder.
        #expect(!(0..<7).allSatisfy { code.isDark(row: code.size - 1, column: code.size - 1 - $0) })
    }

    @Test func longerTextNeedsALargerSymbol() throws {
        let short = try #require(QRCode(encoding: "http://a/remote?box=b"))
        let long = try #require(QRCode(encoding: "http://a/remote?box=" + String(repeating: "b", count: 128)))
        #expect(long.size > short.size)
        #expect(QRCode(encoding: String(repeating: "x", count: 3000)) == nil)
    }

    @Test func svgIsByteStableAgainstTheGoldenFile() throws {
        let svg = try #require(QRCode(encoding: goldenURL)).svg()
        #expect(svg == (try #require(QRCode(encoding: goldenURL))).svg())
        let golden = try Data(contentsOf: goldenFolder.appendingPathComponent("box-golden.svg"))
        #expect(svg == Array(golden), "if libqrencode changed its output on purpose, regenerate Golden/box-golden.svg")
    }

    @Test func svgDrawsExactlyTheDarkModules() throws {
        let code = try #require(QRCode(encoding: goldenURL))
        let text = String(decoding: code.svg(quietZone: 4), as: UTF8.self)
        #expect(text.contains("viewBox=\"0 0 \(code.size + 8) \(code.size + 8)\""))
        var drawn = Set<Int>()
        let runs = try Regex(#"M(\d+) (\d+)h(\d+)v1h-\3z"#)
        for match in text.matches(of: runs) {
            let x = Int(match.output[1].substring!)! - 4, y = Int(match.output[2].substring!)! - 4
            for dx in 0..<Int(match.output[3].substring!)! { drawn.insert(y * code.size + x + dx) }
        }
        let dark = Set(code.modules.indices.filter { code.modules[$0] })
        #expect(drawn == dark)
    }

    @Test(arguments: [1, 3, 8])
    func pngPixelsMatchTheModules(scale: Int) throws {
        let code = try #require(QRCode(encoding: goldenURL))
        let png = code.png(scale: scale, quietZone: 4)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let chunks = try parseChunks(png)
        #expect(chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
        let side = (code.size + 8) * scale
        #expect(Array(chunks[0].data) == bigEndian(side) + bigEndian(side) + [1, 0, 0, 0, 0])
        let rowBytes = (side + 7) / 8
        let raw = try inflate(chunks[1].data, expected: side * (rowBytes + 1))
        for y in 0..<side {
            #expect(raw[y * (rowBytes + 1)] == 0)
            for x in 0..<side {
                let light = raw[y * (rowBytes + 1) + 1 + x / 8] & (0x80 >> UInt8(x % 8)) != 0
                let (column, row) = (x / scale - 4, y / scale - 4)
                let inside = (0..<code.size).contains(column) && (0..<code.size).contains(row)
                if light == (inside && code.isDark(row: row, column: column)) {
                    Issue.record("pixel \(x),\(y) wrong")
                    return
                }
            }
        }
    }
}

private struct Chunk { var type: String; var data: [UInt8] }

/// Splits a PNG into chunks, checking each CRC.
private func parseChunks(_ png: [UInt8]) throws -> [Chunk] {
    var chunks: [Chunk] = []
    var at = 8
    while at < png.count {
        let length = png[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
        let typed = Array(png[at + 4..<at + 8 + length])
        let crc = png[at + 8 + length..<at + 12 + length].reduce(0) { $0 << 8 | UInt($1) }
        #expect(crc == typed.withUnsafeBufferPointer { CZlib.crc32(0, $0.baseAddress, uInt($0.count)) })
        chunks.append(Chunk(type: String(decoding: typed.prefix(4), as: UTF8.self), data: Array(typed.dropFirst(4))))
        at += 12 + length
    }
    return chunks
}

private func inflate(_ data: [UInt8], expected: Int) throws -> [UInt8] {
    var length = uLongf(expected)
    var output = [UInt8](repeating: 0, count: expected)
    let status = output.withUnsafeMutableBufferPointer { out in
        data.withUnsafeBufferPointer { uncompress(out.baseAddress, &length, $0.baseAddress, uLong($0.count)) }
    }
    #expect(status == Z_OK && Int(length) == expected)
    return output
}

private func bigEndian(_ value: Int) -> [UInt8] {
    [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}
