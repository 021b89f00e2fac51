import CCrypto

/// Makes JWS signatures with a private key; the counterpart of `SignatureCheck`.
enum SignatureMaker {
    /// The RS256 signature, or the ES256 one as raw r||s; nil only if OpenSSL fails.
    static func sign(_ message: ArraySlice<UInt8>, with key: PrivateKey, algorithm: SigningAlgorithm) -> [UInt8]? {
        guard let signature = digestSign(message, with: key) else { return nil }
        switch algorithm {
        case .es256: return rawECDSA(fromDER: signature)
        case .rs256: return signature
        case .hs256: return nil
        }
    }

    private static func digestSign(_ message: ArraySlice<UInt8>, with key: PrivateKey) -> [UInt8]? {
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else { return nil }
        return message.withUnsafeBytes { data -> [UInt8]? in
            let bytes = data.baseAddress?.assumingMemoryBound(to: UInt8.self)
            // The first call gives the largest possible size, the second the actual one.
            var length = 0
            guard EVP_DigestSign(context, nil, &length, bytes, data.count) == 1 else { return nil }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &signature, &length, bytes, data.count) == 1 else { return nil }
            return Array(signature.prefix(length))
        }
    }

    /// OpenSSL signs ECDSA as DER; JWS wants r and s as 32 big-endian bytes each.
    private static func rawECDSA(fromDER der: [UInt8]) -> [UInt8]? {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let parsed else { return nil }
        defer { ECDSA_SIG_free(parsed) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(parsed, &r, &s)
        guard let r, let s else { return nil }
        var raw = [UInt8](repeating: 0, count: 64)
        let written = raw.withUnsafeMutableBufferPointer { buffer in
            (BN_bn2binpad(r, buffer.baseAddress, 32), BN_bn2binpad(s, buffer.baseAddress! + 32, 32))
        }
        return written == (32, 32) ? raw : nil
    }
}
