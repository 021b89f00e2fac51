import Glibc

/// A raw non-blocking IPv4 TCP socket, for the hostile clients that need what the UV layer does
/// not offer: a receive buffer made small before connecting, and a socket that is never read.
final class RawSocket {
    private var fd: Int32 = -1
    /// Bytes the kernel has not taken yet, kept whole so WebSocket frames stay aligned.
    private var pending: [UInt8] = []
    private(set) var failed = false
    private(set) var connected = false
    let openedAt: UInt64

    init(source: String, host: String, port: Int, receiveBuffer: Int32?) {
        openedAt = monotonicNanoseconds()
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { failed = true; return }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        guard Self.call(fd, source, 0, { bind($0, $1, $2) }) == 0 else { failed = true; return }
        if Self.call(fd, host, port, { Glibc.connect($0, $1, $2) }) != 0 && errno != EINPROGRESS { failed = true }
    }

    deinit { abort() }

    private static func call(_ fd: Int32, _ host: String, _ port: Int,
                             _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return -1 }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Checks (without waiting) whether the connect has completed; marks the socket failed if it was refused.
    func pollConnected() -> Bool {
        guard !connected, !failed else { return connected }
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&entry, 1, 0) == 1 else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        if error != 0 { failed = true } else { connected = true }
        return connected
    }

    var pendingBytes: Int { pending.count }

    /// Queues `bytes` behind what is pending and writes what the kernel takes. Returns false once
    /// the socket failed (the server closed or reset it).
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        pending += bytes
        return flush()
    }

    @discardableResult
    func flush() -> Bool {
        guard connected, !failed else { return !failed }
        while !pending.isEmpty {
            let sent = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return true }
                failed = true
                return false
            }
            pending.removeFirst(sent)
        }
        return true
    }

    /// Closes with a reset (linger 0): no FIN handshake, no TIME_WAIT, the server's side is freed at once.
    func abort() {
        guard fd >= 0 else { return }
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
        fd = -1
        failed = true
    }
}
