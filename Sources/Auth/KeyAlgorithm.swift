import CCrypto

/// Which JWS algorithm an OpenSSL key (public or private) may be used with.
enum KeyAlgorithm {
    /// ES256 for EC P-256, RS256 for RSA of at least 2048 bits; anything else is refused.
    static func of(_ key: OpaquePointer) throws(KeyProblem) -> SigningAlgorithm {
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_EC:
            let curve = groupName(of: key)
            guard curve == "prime256v1" || curve == "P-256" else { throw .unsupportedCurve(curve) }
            return .es256
        case EVP_PKEY_RSA:
            let bits = Int(EVP_PKEY_get_bits(key))
            guard bits >= 2048 else { throw .rsaKeyTooSmall(bits: bits) }
            return .rs256
        default:
            throw .unsupportedKeyType
        }
    }

    private static func groupName(of key: OpaquePointer) -> String {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else {
            ERR_clear_error()
            return "an unnamed curve"
        }
        return String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
