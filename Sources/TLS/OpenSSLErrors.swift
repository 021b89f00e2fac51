import CSSL

/// OpenSSL's queued reasons on this thread, oldest first, joined by "; ". Empties the queue,
/// which must be empty before the next SSL call for SSL_get_error to be right.
func takeOpenSSLErrors(or fallback: String) -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        if let text = ERR_reason_error_string(code) {
            reasons.append(String(cString: text))
        } else {
            reasons.append("OpenSSL error \(code)")
        }
    }
    return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
}
