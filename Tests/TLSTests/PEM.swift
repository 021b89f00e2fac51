import CSSL

/// PEM text of OpenSSL objects, through a memory BIO.
enum PEM {
    static func certificate(_ certificate: OpaquePointer) -> [UInt8] {
        write { PEM_write_bio_X509($0, certificate) }
    }

    static func privateKey(_ key: OpaquePointer) -> [UInt8] {
        write { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    static func readCertificate(_ pem: [UInt8]) -> OpaquePointer? {
        pem.withUnsafeBytes { buffer in
            let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count))
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
    }

    private static func write(_ body: (OpaquePointer) -> Int32) -> [UInt8] {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(body(bio) == 1, "PEM write failed")
        var start: UnsafeMutablePointer<CChar>?
        let count = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &start)
        return Array(UnsafeRawBufferPointer(start: start, count: count))
    }
}
