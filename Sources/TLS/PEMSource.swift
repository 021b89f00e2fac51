import CSSL

/// Where PEM text comes from: bytes in memory or a file OpenSSL opens itself.
enum PEMSource {
    case bytes([UInt8])
    case file(String)

    /// Runs `body` with a read BIO over the PEM text.
    func withBIO<R>(_ body: (OpaquePointer) throws(TLSContextError) -> R) throws(TLSContextError) -> R {
        switch self {
        case .bytes(let bytes):
            // BIO_new_mem_buf reads in place: `bytes` must outlive the BIO, so the body runs inside.
            let result: Result<R, TLSContextError> = bytes.withUnsafeBytes { buffer in
                guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
                    return .failure(.setupFailed(reason: takeOpenSSLErrors(or: "BIO_new_mem_buf failed")))
                }
                defer { BIO_free(bio) }
                do throws(TLSContextError) { return .success(try body(bio)) } catch { return .failure(error) }
            }
            return try result.get()
        case .file(let path):
            guard let bio = BIO_new_file(path, "rb") else {
                throw .unreadableFile(path: path, reason: takeOpenSSLErrors(or: "cannot open"))
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }
}
