import CCrypto

/// Checks one JWS signature against one key. Callers have already matched
/// the token's `alg` to the key's algorithm.
enum SignatureCheck {
    static func verify(_ signature: [UInt8], over signedPart: ArraySlice<UInt8>, with key: VerificationKey) -> Bool {
        switch key.material {
        case .secret(let secret):
            return hmacMatches(signature, over: signedPart, secret: secret)
        case .publicKey(let publicKey):
            switch key.algorithm {
            case .es256:
                guard let der = derSignature(fromRawECDSA: signature) else { return false }
                return digestVerify(der, over: signedPart, with: publicKey)
            case .rs256:
                return digestVerify(signature, over: signedPart, with: publicKey)
            case .hs256:
                return false
            }
        }
    }

    static func hmacSHA256(_ message: ArraySlice<UInt8>, secret: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        secret.withUnsafeBytes { key in
            message.withUnsafeBytes { data in
                _ = HMAC(EVP_sha256(), key.baseAddress, Int32(key.count),
                         data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, &digest, &length)
            }
        }
        return Array(digest.prefix(Int(length)))
    }

    private static func hmacMatches(_ signature: [UInt8], over message: ArraySlice<UInt8>, secret: [UInt8]) -> Bool {
        guard !secret.isEmpty, signature.count == 32 else { return false }
        let expected = hmacSHA256(message, secret: secret)
        guard expected.count == 32 else { return false }
        return CRYPTO_memcmp(expected, signature, 32) == 0
    }

    /// JWS carries ECDSA as raw r||s; OpenSSL verifies DER.
    private static func derSignature(fromRawECDSA raw: [UInt8]) -> [UInt8]? {
        guard raw.count == 64, let signature = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(signature) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, 32, nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + 32, 32, nil) }
        guard let r, let s else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        // On success the signature owns r and s.
        guard ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        return written == length ? der : nil
    }

    private static func digestVerify(_ signature: [UInt8], over message: ArraySlice<UInt8>, with key: PublicKey) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else { return false }
        return message.withUnsafeBytes { data in
            EVP_DigestVerify(context, signature, signature.count,
                             data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count) == 1
        }
    }
}
