#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import UV

/// Where the server is, from a ws: or http: URL: the host to resolve and name in `Host`, the
/// port, and a path prefix (a server behind a proxy path). wss:/https: need TLS, which this
/// transport does not have yet.
struct ServerAddress: Sendable {
    let host: String
    let port: Int
    let prefix: String

    init(_ url: URL) throws(TetherError) {
        guard let scheme = url.scheme?.lowercased(), ["ws", "http", "wss", "https"].contains(scheme) else {
            throw TetherError(.invalid, "url must be ws: or http:")
        }
        guard scheme == "ws" || scheme == "http" else {
            throw TetherError(.invalid, "wss: and https: are not supported by this client yet (no TLS): use ws: or a local TLS proxy")
        }
        guard let host = url.host, !host.isEmpty else { throw TetherError(.invalid, "url has no host") }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = url.port ?? 80
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        prefix = path
    }

    /// The value of the Host header.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    /// The request target for a device: prefix + "/?device_id=ID[&token=JWT]".
    func devicePath(id: String, token: String?) -> String {
        var path = prefix + "/?device_id=" + percentEncoded(id)
        if let token { path += "&token=" + percentEncoded(token) }
        return path
    }

    /// The HTTP URL of `path` on this server.
    func httpURL(_ path: String) -> URL? {
        URL(string: "http://\(hostHeader)\(prefix)\(path)")
    }

    /// Resolves the host (blocking: called on the client's own loop thread).
    func resolve() throws(TetherError) -> SocketAddress {
        if let numeric = try? SocketAddress(host: host, port: port) { return numeric }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &found) == 0, let first = found else {
            throw TetherError(.unreachable, "cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0,
              let address = try? SocketAddress(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: port)
        else { throw TetherError(.unreachable, "cannot resolve \(host)") }
        return address
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
private func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(byte)))
        default:
            out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        }
    }
    return out
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
