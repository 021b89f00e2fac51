import CCrypto

extension PairingCodes {
    /// `count` bytes from OpenSSL's CSPRNG; stops the process if it cannot deliver.
    public static func secureRandom(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let status = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        // Handing out guessable codes would be worse than stopping.
        precondition(status == 1, "OpenSSL RAND_bytes failed")
        return bytes
    }
}
