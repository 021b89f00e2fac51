// Micro-benchmarks of the per-message hot path: frame decode (unmask + UTF-8), frame header encode,
// envelope scan. Plain timed loops, best of several rounds; run with `make microbench`.
import Glibc
import Switchboard
import WebSocket

func maskedFrame(_ payload: [UInt8], key: [UInt8]) -> [UInt8] {
    var frame: [UInt8] = [0x81]
    if payload.count <= 125 {
        frame.append(0x80 | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        frame.append(0x80 | 127)
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
    }
    return frame + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
}

/// Best nanoseconds per iteration over `rounds` rounds of `iterations`.
func measure(rounds: Int = 7, iterations: Int, _ body: () -> Int) -> (Double, Int) {
    var best = Double.infinity
    var sink = 0
    let clock = ContinuousClock()
    for _ in 0..<rounds {
        let start = clock.now
        for _ in 0..<iterations { sink &+= body() }
        let elapsed = clock.now - start
        let nanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        best = min(best, nanos / Double(iterations))
    }
    return (best, sink)
}

// An ASCII key keeps ASCII text ASCII when masked, so unmasking the same buffer again (XOR is its
// own inverse) re-masks it and every round does the full unmask + validation work in place.
let key: [UInt8] = [0x21, 0x32, 0x43, 0x54]
var rows: [(String, String)] = []
var sink = 0

do {
    let text = (0..<16_384).map { UInt8(0x20 + $0 % 90) }
    var frame = maskedFrame(text, key: key)
    var decoder = FrameDecoder(maxMessageBytes: 1 << 20)
    let (ns, s) = measure(iterations: 20_000) {
        var got = 0
        frame.withUnsafeMutableBytes { decoder.feed($0) { if case .text(let p) = $0 { got = p.count } } }
        return got
    }
    sink &+= s
    rows.append(("decode + unmask + UTF-8, 16 KiB ASCII text frame", "\(fmt(ns)) ns/frame, \(fmt(16_384 / ns)) GB/s"))
}

do {
    let unit = Array("κόσμε €𝄞 ".utf8)
    let text = Array((0..<(16_384 / unit.count + 1)).flatMap { _ in unit }.prefix(16_384 - 16_384 % unit.count))
    let original = maskedFrame(text, key: key)
    var work = original
    var decoder = FrameDecoder(maxMessageBytes: 1 << 20)
    let (copyNs, _) = measure(iterations: 20_000) {
        work.withUnsafeMutableBytes { dst in original.withUnsafeBytes { dst.copyMemory(from: $0) } }
        return Int(work[0])
    }
    let (ns, s) = measure(iterations: 20_000) {
        work.withUnsafeMutableBytes { dst in original.withUnsafeBytes { dst.copyMemory(from: $0) } }
        var got = 0
        work.withUnsafeMutableBytes { decoder.feed($0) { if case .text(let p) = $0 { got = p.count } } }
        return got
    }
    sink &+= s
    let net = max(ns - copyNs, 1)
    rows.append(("decode + unmask + UTF-8, 16 KiB multi-byte text frame", "\(fmt(net)) ns/frame, \(fmt(Double(text.count) / net)) GB/s"))
}

do {
    let text = Array(#"{"from":"phone-1","to":"box-1","msg":"key-up-0123456789abcdefg"}"#.utf8)
    precondition(text.count == 64)
    let one = maskedFrame(text, key: key)
    var batch = Array((0..<1024).map { _ in one }.joined())
    var decoder = FrameDecoder(maxMessageBytes: 1 << 20)
    let (ns, s) = measure(iterations: 2_000) {
        var got = 0
        batch.withUnsafeMutableBytes { decoder.feed($0) { if case .text(let p) = $0 { got &+= p.count } } }
        return got
    }
    sink &+= s
    rows.append(("decode + unmask + UTF-8, 64-byte text frame (1024 per read)", "\(fmt(ns / 1024)) ns/frame"))

    let (scanNs, s2) = measure(iterations: 500_000) {
        text.withUnsafeBytes { raw in
            if case .success(let envelope) = Envelope.scan(raw) { return envelope.to.utf8.count }
            return 0
        }
    }
    sink &+= s2
    rows.append(("envelope scan (JSON validation + from/to), 64-byte message", "\(fmt(scanNs)) ns/message"))
}

for size in [64, 16_384] {
    let (ns, s) = measure(iterations: 2_000_000) {
        FrameHeader(opcode: .text, payloadLength: size &+ (sink & 1)).count
    }
    sink &+= s
    rows.append(("encode server frame header, \(size)-byte payload", "\(fmt(ns)) ns/frame"))
}

func fmt(_ value: Double) -> String {
    value >= 100 ? String(Int(value.rounded())) : String(Double(Int(value * 100)) / 100)
}

print("| measurement | result |")
print("| --- | --- |")
for (name, result) in rows { print("| \(name) | \(result) |") }
if sink == 42 { print("") }   // keeps the measured work observable
