/// The JOSE header fields the verifier acts on.
struct TokenHeader {
    let algorithm: SigningAlgorithm
    let kid: String?

    init(json bytes: [UInt8]) throws(TokenProblem) {
        guard let fields = JSONValue.object(from: bytes) else { throw .malformed("header is not a JSON object") }
        guard let algValue = fields["alg"] else { throw .malformed("header has no alg") }
        guard case .string(let alg) = algValue else { throw .malformed("header alg is not a string") }
        if let typ = fields["typ"] {
            guard case .string(let value) = typ, value.lowercased() == "jwt" else {
                throw .malformed("header typ is not JWT")
            }
        }
        // RFC 7515 4.1.11: extensions we do not implement must be refused.
        guard fields["crit"] == nil else { throw .malformed("header lists critical extensions this server does not support") }
        switch fields["kid"] {
        case nil: kid = nil
        case .string(let value)?: kid = value
        default: throw .malformed("header kid is not a string")
        }
        guard let algorithm = SigningAlgorithm(rawValue: alg) else {
            throw .unsupportedAlgorithm(Self.printable(alg))
        }
        self.algorithm = algorithm
    }

    /// The header is unverified input: quote an algorithm name only when it looks like one.
    private static func printable(_ alg: String) -> String {
        let looksLikeName = !alg.isEmpty && alg.utf8.count <= 16
            && alg.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil) }
        return looksLikeName ? alg : "an unrecognised algorithm"
    }
}
