import CCrypto

/// An OpenSSL private key for signing, freed with its last reference.
// Unchecked Sendable: the EVP_PKEY is never mutated after loading, and
// OpenSSL 3 allows concurrent read-only use of one key.
final class PrivateKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Reads the first unencrypted private key block of `pem` (PKCS#8, or traditional RSA/EC).
    init(pem: String) throws(KeyProblem) {
        if !pem.contains("PRIVATE KEY-----") && pem.contains("PUBLIC KEY-----") { throw .publicKeyGiven }
        // Real private keys are a few KB; this also keeps the length within Int32.
        guard pem.utf8.count <= 1 << 20 else { throw .notAPrivateKey }
        let bytes = Array(pem.utf8)
        let loaded: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            // Without a callback OpenSSL would prompt on the terminal for an encrypted key's passphrase.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        ERR_clear_error()
        guard let loaded else { throw .notAPrivateKey }
        pointer = loaded
    }

    deinit { EVP_PKEY_free(pointer) }

    /// The algorithm this key signs with, or why it may sign with none.
    func algorithm() throws(KeyProblem) -> SigningAlgorithm {
        try KeyAlgorithm.of(pointer)
    }
}
