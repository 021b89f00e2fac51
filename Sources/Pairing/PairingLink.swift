/// The URL a box's QR code opens on a phone: `<base>/remote?box=ID`.
public enum PairingLink {
    /// `base` is the operator's `--public-url` when set, else `http://` and the request's Host header.
    /// Nil when neither gives a usable base. `box` must already be a valid device id and `code`
    /// URL-safe (neither needs escaping in a query); with a code the phone can pair in token mode.
    public static func url(box: String, code: String? = nil, publicURL: String?, host: String?) -> String? {
        let path = "/remote?box=" + box + (code.map { "&code=" + $0 } ?? "")
        if let publicURL { return trimmingSlashes(publicURL) + path }
        guard let host, isPlausibleHost(host) else { return nil }
        return "http://" + host + path
    }

    /// Why `url` cannot be a public URL (nil when it can): it must be http(s) with a host and no query.
    public static func problem(withPublicURL url: String) -> String? {
        let rest: Substring
        if url.hasPrefix("https://") { rest = url.dropFirst(8) }
        else if url.hasPrefix("http://") { rest = url.dropFirst(7) }
        else { return "public URL must start with http:// or https://" }
        if rest.contains("?") || rest.contains("#") { return "public URL may not have a query or fragment" }
        let host = rest.prefix { $0 != "/" }
        return isPlausibleHost(String(host)) ? nil : "public URL has no valid host"
    }

    /// A Host header value fit to print in a URL: a name or address, an optional port, nothing else.
    static func isPlausibleHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255 && host.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
                true
            default:
                false
            }
        }
    }

    private static func trimmingSlashes(_ url: String) -> String {
        var url = Substring(url)
        while url.hasSuffix("/") { url = url.dropLast() }
        return String(url)
    }
}
