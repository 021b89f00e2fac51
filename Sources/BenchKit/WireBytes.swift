import Glibc

/// Bytes on the wire per routed message, from the server's own counters (`GET /metrics`:
/// `tether_bytes_in_total`, read from sockets, and `tether_bytes_out_total`, frames handed to
/// sockets) before and after a run: the bench pays nothing per message for it. Tether on a
/// plain port only; the run's 100 handshakes and the two scrapes are in it too (a few KB).
public enum WireBytes {
    public struct Reading {
        public var bytesIn: Double
        public var bytesOut: Double
    }

    /// The server's two byte counters, or nil when it has no such metrics (not Tether, or TLS).
    public static func read(host: String, port: Int) -> Reading? {
        guard let text = get(host: host, port: port, path: "/metrics") else { return nil }
        var reading = Reading(bytesIn: -1, bytesOut: -1)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            if parts[0] == "tether_bytes_in_total" { reading.bytesIn = value }
            if parts[0] == "tether_bytes_out_total" { reading.bytesOut = value }
        }
        return reading.bytesIn >= 0 && reading.bytesOut >= 0 ? reading : nil
    }

    /// Adds wire bytes per message (in, out, both) over `messages` routed between two readings.
    public static func add(to report: inout Report, before: Reading?, after: Reading?, messages: Int) {
        guard let before, let after, messages > 0 else { return report.warn("no wire bytes: /metrics unreadable") }
        let count = Double(messages)
        report.add("wire_in_bytes_per_msg", (after.bytesIn - before.bytesIn) / count, digits: 1)
        report.add("wire_out_bytes_per_msg", (after.bytesOut - before.bytesOut) / count, digits: 1)
        report.add("wire_bytes_per_msg", (after.bytesIn - before.bytesIn + after.bytesOut - before.bytesOut) / count, digits: 1)
    }

    /// A blocking HTTP/1.1 GET with `Connection: close`; the body, or nil on any failure.
    private static func get(host: String, port: Int, path: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        guard response.starts(with: Array("HTTP/1.1 200".utf8)),
              let end = (3..<response.count).first(where: { response[$0 - 3..<$0 + 1].elementsEqual([13, 10, 13, 10]) })
        else { return nil }
        return String(decoding: response[(end + 1)...], as: UTF8.self)
    }
}
