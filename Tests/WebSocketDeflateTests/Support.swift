import TestSupport
@testable import WebSocketDeflate

/// Byte helpers so tests can speak in arrays.
extension MessageInflater {
    func inflate(_ compressed: [UInt8]) -> Result<[UInt8], InflateError> {
        var output: [UInt8] = []
        let error = compressed.withUnsafeBytes { inflate($0) { output = Array($0) } }
        return error.map { .failure($0) } ?? .success(output)
    }
}

extension MessageDeflater {
    func deflate(_ message: [UInt8], windowBits: Int = 15) -> [UInt8] {
        var output: [UInt8] = []
        message.withUnsafeBytes { deflate($0, windowBits: windowBits) { output = Array($0) } }
        return output
    }

    /// nil when the deflater says to send the message uncompressed.
    func compress(_ message: [UInt8], windowBits: Int = 15) -> [UInt8]? {
        var output: [UInt8]?
        _ = message.withUnsafeBytes { compress($0, windowBits: windowBits) { output = Array($0) } }
        return output
    }
}

func hex(_ text: String) -> [UInt8] {
    text.split(separator: " ").map { UInt8($0, radix: 16)! }
}

/// Envelopes shaped like Tether's traffic, `count` bytes long or just over.
func jsonMessage(bytes count: Int, seed: UInt64 = 1) -> [UInt8] {
    var random = SplitMix(seed: seed)
    var text = #"{"from":"phone-1","to":"box-1","msg":{"type":"batch","items":["#
    var item = 0
    while text.utf8.count < count - 2 {
        if item > 0 { text += "," }
        text += #"{"id":\#(item),"type":"key","key":"\#(["up", "down", "left", "right", "ok"][Int(random.next() % 5)])","at":\#(1_700_000_000 + random.next() % 100_000)}"#
        item += 1
    }
    return Array((text + "]}}").utf8)
}
