import Foundation
import Testing
@testable import WebSocketDeflate

/// Where compression stops paying for Tether's messages, without context takeover. Run by hand
/// (it prints a table; it asserts nothing): `DEFLATE_MEASURE=1 swift test --filter ThresholdMeasurement`.
@Suite struct ThresholdMeasurement {
    static let enabled = ProcessInfo.processInfo.environment["DEFLATE_MEASURE"] == "1"

    static let samples: [(String, [UInt8])] = [
        ("status reply", Array(#"{"status":0,"message":"delivered"}"#.utf8)),
        ("key press", Array(#"{"from":"phone-1","to":"box-1","msg":{"type":"key","key":"up"}}"#.utf8)),
        ("presence", Array(#"{"type":"presence","id":"box-1","online":true,"watchers":["phone-1","phone-2"]}"#.utf8)),
        ("text input", Array(#"{"from":"phone-1","to":"box-1","msg":{"type":"text","text":"the quick brown fox jumps over the lazy dog"}}"#.utf8)),
    ] + [96, 128, 160, 192, 256, 384, 512, 1024, 2048, 4096].map { ("batch \($0)", jsonMessage(bytes: $0)) }

    @Test(.enabled(if: enabled)) func compressionGainAndCostBySize() {
        func wire(_ count: Int) -> Int { count + (count <= 125 ? 2 : count <= 0xFFFF ? 4 : 10) }
        let settings: [(level: Int32, memoryLevel: Int32)] = [(6, 8), (6, 5), (6, 4), (1, 8)]
        print("message              bytes | deflated, level 6 memLevel 8/5/4, level 1 | wire bytes saved (6/8) | ns per compress, same settings")
        for (name, message) in Self.samples {
            let sizes = settings.map { MessageDeflater(level: $0.level, memoryLevel: $0.memoryLevel).deflate(message).count }
            let timings = settings.map { nanosecondsPerCompress(message, level: $0.level, memoryLevel: $0.memoryLevel) }
            print(name.padding(toLength: 20, withPad: " ", startingAt: 0), String(format: "%5d", message.count), "|",
                  sizes.map { String($0) }.joined(separator: "/"), "|", wire(message.count) - wire(sizes[0]), "|",
                  timings.map { String($0) }.joined(separator: "/"))
        }
    }

    @Test(.enabled(if: enabled)) func inflateCost() {
        let inflater = MessageInflater(maxMessageBytes: 1 << 20)
        for size in [128, 1024, 4096] {
            let compressed = MessageDeflater().deflate(jsonMessage(bytes: size))
            var best = Int.max
            compressed.withUnsafeBytes { bytes in
                for _ in 0..<5 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<5_000 { _ = inflater.inflate(bytes) { _ in } }
                    best = min(best, Int(DispatchTime.now().uptimeNanoseconds - start) / 5_000)
                }
            }
            print("inflate \(size)-byte batch (\(compressed.count) compressed): \(best) ns")
        }
    }

    private func nanosecondsPerCompress(_ message: [UInt8], level: Int32, memoryLevel: Int32) -> Int {
        let deflater = MessageDeflater(minimumSize: 0, level: level, memoryLevel: memoryLevel)
        let rounds = 5_000
        var best = Int.max
        message.withUnsafeBytes { bytes in
            for _ in 0..<5 {   // the best of five runs: the machine is shared
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<rounds { deflater.deflate(bytes) { _ in } }
                best = min(best, Int(DispatchTime.now().uptimeNanoseconds - start) / rounds)
            }
        }
        return best
    }
}
