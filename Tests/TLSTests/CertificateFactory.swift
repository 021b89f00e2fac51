import CSSL

/// Makes keys and certificates with OpenSSL's C API: the fallback when the `openssl` command is
/// missing, and tested on its own so it stays working.
enum CertificateFactory {
    static func makeKey() -> OpaquePointer {
        let context = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nil)!
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        precondition(EVP_PKEY_keygen_init(context) == 1
            && EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context, NID_X9_62_prime256v1) == 1
            && EVP_PKEY_keygen(context, &key) == 1, "EC key generation failed")
        return key!
    }

    /// A certificate for `commonName`, signed by `issuerKey` under `issuerName`. A CA gets
    /// basicConstraints CA:TRUE; a server gets subjectAltName DNS:localhost.
    static func makeCertificate(commonName: String, key: OpaquePointer, issuerName: String,
                                issuerKey: OpaquePointer, serial: Int, isCA: Bool) -> OpaquePointer {
        let certificate = X509_new()!
        X509_set_version(certificate, 2)
        ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial)
        X509_gmtime_adj(X509_getm_notBefore(certificate), -3600)
        X509_gmtime_adj(X509_getm_notAfter(certificate), 2 * 86400)
        X509_set_pubkey(certificate, key)
        X509_set_subject_name(certificate, name(commonName))
        X509_set_issuer_name(certificate, name(issuerName))
        // DER by hand: BasicConstraints {cA TRUE}; GeneralNames {dNSName "localhost"}.
        if isCA {
            addExtension(certificate, NID_basic_constraints, critical: true, der: [0x30, 0x03, 0x01, 0x01, 0xFF])
        } else {
            addExtension(certificate, NID_subject_alt_name, critical: false,
                         der: [0x30, 0x0B, 0x82, 0x09] + Array("localhost".utf8))
        }
        precondition(X509_sign(certificate, issuerKey, EVP_sha256()) > 0, "X509_sign failed")
        return certificate
    }

    private static func name(_ commonName: String) -> OpaquePointer {
        let name = X509_NAME_new()!
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0)
        return name   // leaked: a few bytes per test certificate
    }

    private static func addExtension(_ certificate: OpaquePointer, _ nid: Int32, critical: Bool, der: [UInt8]) {
        let value = ASN1_OCTET_STRING_new()!
        defer { ASN1_OCTET_STRING_free(value) }
        ASN1_OCTET_STRING_set(value, der, Int32(der.count))
        let ext = X509_EXTENSION_create_by_NID(nil, nid, critical ? 1 : 0, value)!
        defer { X509_EXTENSION_free(ext) }
        X509_add_ext(certificate, ext, -1)
    }
}
