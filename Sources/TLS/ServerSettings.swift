import CSSL

/// The settings every server SSL_CTX gets, on first load and on each reload.
enum ServerSettings {
    /// TLS 1.2 suites: forward-secret ECDHE with AEAD ciphers only (Mozilla's "intermediate"
    /// list without DHE). TLS 1.3 keeps OpenSSL's default suites, which are all AEAD.
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    static let groups = "X25519:P-256:P-384"

    static func makeContext() throws(TLSContextError) -> OpaquePointer {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw .setupFailed(reason: takeOpenSSLErrors(or: "SSL_CTX_new failed"))
        }
        guard ContextControl.setProtocolVersions(context, min: TLS1_2_VERSION, max: TLS1_3_VERSION),
              SSL_CTX_set_cipher_list(context, tls12Ciphers) == 1,
              ContextControl.setGroups(context, groups)
        else {
            SSL_CTX_free(context)
            throw .setupFailed(reason: takeOpenSSLErrors(or: "OpenSSL refused a setting"))
        }
        _ = SSL_CTX_set_options(context, SSLOption.noCompression | SSLOption.noRenegotiation)
        // An idle session hands its 16 KiB+ record buffers back to the allocator.
        ContextControl.setMode(context, SSL_MODE_RELEASE_BUFFERS)
        // Resumption by stateless tickets only: the server keeps nothing per past session.
        // The ticket key lives in the SSL_CTX, so a reload invalidates older tickets (a full
        // handshake follows, nothing breaks). One ticket: a device opens one connection at a time.
        ContextControl.setSessionCacheMode(context, SSL_SESS_CACHE_OFF)
        _ = SSL_CTX_set_num_tickets(context, 1)
        SSL_CTX_set_alpn_select_cb(context, selectHTTP11, nil)
        return context
    }
}
