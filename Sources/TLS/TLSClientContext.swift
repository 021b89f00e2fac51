import CSSL

/// Client settings for load generation and tests: TLS 1.3 only, ALPN `http/1.1`, and no
/// certificate verification (the peer is our own server on loopback; verifying its chain would
/// only add client CPU to what a benchmark measures). The server still proves it holds the key:
/// TLS 1.3's CertificateVerify signature is checked whatever the verify mode.
public final class TLSClientContext {
    let context: OpaquePointer

    public init() throws(TLSContextError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw .setupFailed(reason: takeOpenSSLErrors(or: "SSL_CTX_new failed"))
        }
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        guard ContextControl.setProtocolVersions(context, min: TLS1_3_VERSION, max: TLS1_3_VERSION),
              SSL_CTX_set_alpn_protos(context, alpn, UInt32(alpn.count)) == 0   // 0 is success here
        else {
            SSL_CTX_free(context)
            throw .setupFailed(reason: takeOpenSSLErrors(or: "OpenSSL refused a setting"))
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        // Thousands of idle bench clients: their record buffers go back to the allocator too.
        ContextControl.setMode(context, SSL_MODE_RELEASE_BUFFERS)
        self.context = context
    }

    deinit { SSL_CTX_free(context) }
}
