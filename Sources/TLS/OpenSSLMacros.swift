import CSSL

/// OpenSSL spells these as function-like macros, which Swift does not import; each is the
/// control call its macro expands to, on an SSL_CTX.
enum ContextControl {
    /// SSL_CTX_set_mode.
    static func setMode(_ context: OpaquePointer, _ mode: UInt32) {
        _ = SSL_CTX_ctrl(context, SSL_CTRL_MODE, Int(mode), nil)
    }

    /// SSL_CTX_set_min_proto_version and SSL_CTX_set_max_proto_version.
    static func setProtocolVersions(_ context: OpaquePointer, min: Int32, max: Int32) -> Bool {
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(min), nil) == 1
            && SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(max), nil) == 1
    }

    /// SSL_CTX_set1_groups_list.
    static func setGroups(_ context: OpaquePointer, _ list: String) -> Bool {
        list.withCString { SSL_CTX_ctrl(context, SSL_CTRL_SET_GROUPS_LIST, 0, UnsafeMutableRawPointer(mutating: $0)) == 1 }
    }

    /// SSL_CTX_set_session_cache_mode.
    static func setSessionCacheMode(_ context: OpaquePointer, _ mode: Int32) {
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_SESS_CACHE_MODE, Int(mode), nil)
    }

    /// SSL_CTX_add0_chain_cert: on success the context owns `certificate`.
    static func addChainCertificate(_ context: OpaquePointer, _ certificate: OpaquePointer) -> Bool {
        SSL_CTX_ctrl(context, SSL_CTRL_CHAIN_CERT, 0, UnsafeMutableRawPointer(certificate)) == 1
    }
}

/// SSL_OP_* values are `SSL_OP_BIT(n)`, a macro Swift cannot import.
enum SSLOption {
    static let noCompression: UInt64 = 1 << 17
    static let noRenegotiation: UInt64 = 1 << 30
}
