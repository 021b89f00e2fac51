import WebSocket

/// Which browser pages may open a device connection. A browser always sends `Origin`; a page of
/// this server (same host as the request, or as --public-url) or a listed origin may connect,
/// any other page may not (it could act as any device for whoever visits it). Clients without
/// `Origin` (boxes, native apps) are not browsers and are allowed.
enum OriginPolicy {
    static func allows(_ origin: String, head: HTTPRequestHead, config: ServerConfig) -> Bool {
        if config.allowedOrigins.contains(origin) { return true }
        guard let page = authority(of: origin) else { return false }   // "null" and garbage
        if let host = head.header("host"), page == normalized(host.lowercased(), secure: page.secure) { return true }
        if let publicURL = config.publicURL, let own = authority(of: publicURL), own == page { return true }
        return false
    }

    struct Authority: Equatable {
        let host: String
        let port: Int
        let secure: Bool
    }

    /// "https://tv.example:8443" -> (tv.example, 8443); default ports filled in.
    static func authority(of url: String) -> Authority? {
        let lower = url.lowercased()
        let secure: Bool
        let rest: Substring
        if lower.hasPrefix("https://") { secure = true; rest = lower.dropFirst(8) }
        else if lower.hasPrefix("http://") { secure = false; rest = lower.dropFirst(7) }
        else { return nil }
        let hostPort = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return normalized(String(hostPort), secure: secure)
    }

    /// "host[:port]" with the scheme's default port when none is given.
    static func normalized(_ hostPort: String, secure: Bool) -> Authority? {
        guard !hostPort.isEmpty, !hostPort.contains("@") else { return nil }
        var host = Substring(hostPort)
        var port = secure ? 443 : 80
        if let colon = hostPort.lastIndex(of: ":"), !hostPort[colon...].contains("]") {
            guard let parsed = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(parsed) else { return nil }
            port = parsed
            host = hostPort[..<colon]
        }
        guard !host.isEmpty else { return nil }
        return Authority(host: String(host), port: port, secure: secure)
    }
}
