/// The console's session cookie: its name, how a request's `Cookie` header carries it, and the
/// `Set-Cookie` that gives or takes it. HttpOnly keeps it from the page's scripts; SameSite=Strict
/// keeps other sites' pages from sending it (with the session check on every console call, the
/// CSRF guard); the path keeps it to the console's API.
public enum SessionCookie {
    public static let name = "tether_console"
    public static let path = "/api/console"

    /// The session token in a `Cookie` header value, if any.
    public static func token(in header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            guard trimmed.hasPrefix(name + "=") else { continue }
            let value = trimmed.dropFirst(name.count + 1)
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    /// Gives `token` for `maxAge` seconds; `secure` when the page was served over TLS.
    public static func setting(_ token: String, maxAge: Int64, secure: Bool) -> String {
        "\(name)=\(token); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// Takes the cookie back (sign-out).
    public static func clearing(secure: Bool) -> String {
        setting("", maxAge: 0, secure: secure)
    }
}
