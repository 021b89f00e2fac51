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
}
