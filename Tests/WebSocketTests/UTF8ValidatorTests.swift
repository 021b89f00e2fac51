import Testing
import WebSocket

@Suite struct UTF8ValidatorTests {
    /// Agrees with the standard library on random text with random damage, whole and in two pieces.
    @Test func agreesWithTheStandardLibraryUnderRandomDamageAndSplits() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aé€𝄞κόσμε\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}".unicodeScalars)
        for _ in 0..<3000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...12, using: &generator) { scalars.append(alphabet.randomElement(using: &generator)!) }
            var bytes = Array(String(scalars).utf8)
            if !bytes.isEmpty && Bool.random(using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(bytes.withUnsafeBytes(UTF8Validator.isValid) == expected, "\(bytes)")
            let split = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &generator)
            var validator = UTF8Validator()
            let pieces = bytes.withUnsafeBytes { raw in
                validator.validate(UnsafeRawBufferPointer(rebasing: raw[0..<split]))
                    && validator.validate(UnsafeRawBufferPointer(rebasing: raw[split...]))
            }
            #expect((pieces && validator.isComplete) == expected, "\(bytes) split at \(split)")
        }
    }

    /// Every 2-byte pattern, and 3- and 4-byte patterns over every value of the first two bytes
    /// with the edge values of the others, agree with the standard library: at several offsets
    /// (so word-at-a-time reads cross each byte position) and with or without bytes after them.
    @Test func agreesWithTheStandardLibraryOnEveryLeadAndSecondByte() {
        let edges: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0]
        var patterns: [[UInt8]] = []
        for b0 in 0...255 {
            for b1 in 0...255 {
                patterns.append([UInt8(b0), UInt8(b1)])
                guard b0 >= 0xE0 else { continue }
                for b2 in edges {
                    patterns.append([UInt8(b0), UInt8(b1), b2])
                    guard b0 >= 0xF0, b1 % 16 == 0 || b1 % 16 == 15 else { continue }
                    for b3 in edges { patterns.append([UInt8(b0), UInt8(b1), b2, b3]) }
                }
            }
        }
        var mismatches = 0
        for (number, pattern) in patterns.enumerated() {
            let prefix = Array("abc".utf8.prefix(number % 4))
            let suffix: [UInt8] = number % 2 == 0 ? [] : Array("é xyz".utf8)
            let bytes = prefix + pattern + suffix
            let expected = String(validating: bytes, as: UTF8.self) != nil
            if bytes.withUnsafeBytes(UTF8Validator.isValid) != expected {
                mismatches += 1
                if mismatches < 5 { Issue.record("disagrees on \(bytes)") }
            }
        }
        #expect(mismatches == 0)
    }
}
