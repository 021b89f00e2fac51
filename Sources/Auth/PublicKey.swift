import CCrypto

/// An OpenSSL public key, freed with its last reference.
// Unchecked Sendable: the EVP_PKEY is never mutated after loading, and
// OpenSSL 3 allows concurrent read-only use of one key.
final class PublicKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Reads the first PUBLIC KEY block of `pem`.
    init(pem: String) throws(KeyProblem) {
        // PEM_read_bio_PUBKEY skips private key blocks, so say what went wrong.
        if pem.contains("PRIVATE KEY-----") { throw .privateKeyGiven }
        // Real public keys are a few KB; this also keeps the length within Int32.
        guard pem.utf8.count <= 1 << 20 else { throw .notAPublicKey }
        let bytes = Array(pem.utf8)
        let loaded: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        ERR_clear_error()
        guard let loaded else { throw .notAPublicKey }
        pointer = loaded
    }

    deinit { EVP_PKEY_free(pointer) }

    /// The algorithm this key may verify, or why it may verify none.
    func algorithm() throws(KeyProblem) -> SigningAlgorithm {
        try KeyAlgorithm.of(pointer)
    }
}
