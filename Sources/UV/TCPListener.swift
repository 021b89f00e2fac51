import CLibUV
import Glibc

/// A listening TCP socket, watched by a poll handle: the listener accepts itself with `accept4`,
/// which also reports each peer's address (no `getpeername` later), and hands each socket over as a
/// `TCPConnection`, which a small poll handle then watches.
///
/// When the process runs out of descriptors the listener frees a descriptor it keeps in reserve,
/// accepts and drops what is pending and reserves one again (libuv's trick), so the loop does not
/// spin; it reports the first failure of each burst and stays quiet until an accept succeeds again.
public final class TCPListener: Handle {
    /// Each accepted connection with its peer's address (from accept itself: no getpeername).
    public var onConnection: ((TCPConnection, SocketAddress) -> Void)?
    /// Makes the object for each accepted socket (the loop, the socket's descriptor to adopt): a
    /// `DelegatingConnection` unless set. If it throws, the listener closes the socket.
    public var makeConnection: (Loop, Int32) throws(UVError) -> TCPConnection = TCPListener.makeDelegatingConnection
    /// Called once per burst of accept failures (EMFILE, ENFILE, ...).
    public var onAcceptError: ((UVError) -> Void)?
    private var inErrorBurst = false
    /// Freed at EMFILE to accept and drop the pending connections (-1 if it could not be opened).
    private var reserve: Int32

    /// Accepts per wakeup, so a flood of connects leaves the loop's other work a turn (what is left
    /// wakes the next iteration: the poll is level-triggered).
    static let acceptsPerWakeup = 128

    public init(loop: Loop, host: String, port: Int, backlog: Int32 = 1024, reusePort: Bool = false) throws(UVError) {
        let address = try SocketAddress(host: host, port: port)
        let socket = try TCPListener.listeningSocket(address, backlog: backlog, reusePort: reusePort)
        let reserve = TCPListener.openReserve()
        self.reserve = reserve
        do {
            try super.init(loop: loop, type: UV_POLL) { memory in
                uv_poll_init_socket(loop.raw, memory.assumingMemoryBound(to: uv_poll_t.self), socket)
            }
        } catch {
            Glibc.close(socket)
            if reserve >= 0 { Glibc.close(reserve) }
            throw error
        }
        do throws(UVError) {
            try watch()
        } catch {
            close()
            throw error
        }
    }

    /// A bound, listening, non-blocking socket (closed again if a step fails). Options as
    /// uv_tcp_bind sets them: SO_REUSEADDR, and an IPv6 socket that takes IPv4 too.
    private static func listeningSocket(_ address: SocketAddress, backlog: Int32, reusePort: Bool) throws(UVError) -> Int32 {
        let socket = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw UVError(-errno) }
        let size = socklen_t(MemoryLayout<Int32>.size)
        var on: Int32 = 1
        var off: Int32 = 0
        var failure: Int32 = 0
        if reusePort && setsockopt(socket, SOL_SOCKET, SO_REUSEPORT, &on, size) != 0 {
            failure = -errno
        } else if setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, size) != 0 {
            failure = -errno
        } else if address.isIPv6 && setsockopt(socket, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, size) != 0 {
            failure = -errno
        } else if address.withSockaddr({ bind(socket, $0, address.length) }) != 0 {
            failure = errno == EAFNOSUPPORT ? Int32(UV_EINVAL.rawValue) : -errno   // as uv_tcp_bind
        } else if listen(socket, backlog) != 0 {
            failure = -errno
        }
        if failure != 0 {
            Glibc.close(socket)
            throw UVError(failure)
        }
        return socket
    }

    private static func openReserve() -> Int32 {
        let reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)
        return reserve >= 0 ? reserve : open("/", O_RDONLY | O_CLOEXEC)
    }

    /// The listening socket's descriptor (open until the close callback).
    private var socket: Int32 { tether_poll_fd(handle.asPoll) }

    private func watch() throws(UVError) {
        try UVError.check(uv_poll_start(handle.asPoll, Int32(UV_READABLE.rawValue), listenerReady))
    }

    /// Options for every socket accepted from now on, set once on the listening socket: Linux copies
    /// TCP_NODELAY and SO_SNDBUF to the sockets it accepts, which saves two system calls a connection.
    public func setAcceptedSocketOptions(noDelay: Bool, sendBufferBytes: Int?) throws(UVError) {
        let size = socklen_t(MemoryLayout<Int32>.size)
        var on: Int32 = noDelay ? 1 : 0
        if setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, size) != 0 {
            throw UVError(-errno)
        }
        // 0 leaves the size as it is (uv_send_buffer_size reads it then).
        if let sendBufferBytes, sendBufferBytes != 0 {
            var value = Int32(clamping: sendBufferBytes)
            if setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &value, size) != 0 { throw UVError(-errno) }
        }
    }

    /// The address actually bound (useful with port 0).
    public var localAddress: SocketAddress? {
        guard !isClosing else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage) : nil
    }

    override func didClose() {
        super.didClose()
        Glibc.close(socket)   // a poll handle leaves its descriptor to its owner
        if reserve >= 0 { Glibc.close(reserve) }
        reserve = -1
        onConnection = nil
        onAcceptError = nil
        makeConnection = TCPListener.makeDelegatingConnection   // lets go of what the caller's factory captured
    }

    private static func makeDelegatingConnection(loop: Loop, socket: Int32) throws(UVError) -> TCPConnection {
        try DelegatingConnection(loop: loop, socket: socket)
    }

    /// Accepts what is pending, as libuv's stream listener does (ECONNABORTED skipped, EMFILE met
    /// with the reserve), at most `acceptsPerWakeup` at a time.
    fileprivate func acceptPending() {
        let listening = socket
        var peer = SocketAddress(sockaddr_storage())
        for _ in 0..<TCPListener.acceptsPerWakeup {
            var accepted = tether_accept(listening, &peer.storage)
            if accepted < 0 {
                if accepted == -EAGAIN || accepted == -EWOULDBLOCK { break }
                if accepted == -ECONNABORTED { continue }
                if accepted == -EMFILE || accepted == -ENFILE {
                    accepted = dropPending(listening)
                    if accepted == -EAGAIN || accepted == -EWOULDBLOCK { break }
                }
                report(UVError(accepted))
                continue
            }
            let connection: TCPConnection
            do {
                connection = try makeConnection(loop, accepted)
            } catch {
                Glibc.close(accepted)
                report(error)
                continue
            }
            inErrorBurst = false
            if let onConnection {
                onConnection(connection, peer)
            } else {
                connection.close()
            }
            if isClosing { return }
        }
        // A poll error stops libuv's watch; accepting learns the socket's state, so watch again.
        if !isClosing && uv_is_active(handle) == 0 { try? watch() }
    }

    /// Out of descriptors: frees the reserve, accepts and closes until accepting fails, and
    /// reserves again (libuv's uv__emfile_trick). Returns the error that ended it (-EAGAIN when
    /// nothing is left pending), or -EMFILE when there was no reserve to free.
    private func dropPending(_ listening: Int32) -> Int32 {
        guard reserve >= 0 else { return -EMFILE }
        Glibc.close(reserve)
        reserve = -1
        var storage = sockaddr_storage()
        var result: Int32
        repeat {
            result = tether_accept(listening, &storage)
            if result >= 0 { Glibc.close(result) }
        } while result >= 0
        reserve = TCPListener.openReserve()
        return result
    }

    private func report(_ error: UVError) {
        guard !inErrorBurst else { return }
        inErrorBurst = true
        onAcceptError?(error)
    }
}

private func listenerReady(_ poll: UnsafeMutablePointer<uv_poll_t>?, _ status: Int32, _ events: Int32) {
    Unmanaged<TCPListener>.fromOpaque(poll!.pointee.data)._withUnsafeGuaranteedRef { $0.acceptPending() }
}
