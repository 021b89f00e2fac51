/// The plain-text answer to plain HTTP sent to the TLS port (`TLSError.plainHTTP`): written to the
/// socket unencrypted, then the connection closes.
public enum PlainHTTPRefusal {
    public static let response: [UInt8] = {
        let body = "This port speaks TLS: use https:// or wss://.\n"
        return Array(("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body).utf8)
    }()
}
