import CLibUV
import Glibc

extension DelegatingConnection {
    /// Opens a client connection to `address`, optionally from a chosen local `source` address
    /// (a load generator spreads its sockets over 127.0.0.x this way). As with libuv's
    /// uv_tcp_connect, a failure the kernel reports at once is reported before this returns.
    public static func connect(loop: Loop, to address: SocketAddress, from source: SocketAddress? = nil,
                               _ completion: @escaping (Result<DelegatingConnection, UVError>) -> Void) {
        let socket: Int32
        do {
            socket = try connectingSocket(to: address, from: source)
        } catch {
            return completion(.failure(error))
        }
        let connection: DelegatingConnection
        do {
            connection = try DelegatingConnection(loop: loop, socket: socket)
        } catch {
            Glibc.close(socket)
            return completion(.failure(error))
        }
        guard connection.watchWritable(true) else {
            connection.close()
            return completion(.failure(UVError(Int32(UV_EINVAL.rawValue))))
        }
        connection.pendingConnect = completion
    }

    /// A non-blocking socket whose connect is under way (closed again if a step fails).
    private static func connectingSocket(to address: SocketAddress, from source: SocketAddress?) throws(UVError) -> Int32 {
        let socket = Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw UVError(-errno) }
        var result: Int32 = 0
        if let source {
            // As uv_tcp_bind: SO_REUSEADDR first.
            var on: Int32 = 1
            result = setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if result == 0 { result = source.withSockaddr { bind(socket, $0, source.length) } }
        }
        if result == 0 {
            repeat {
                result = address.withSockaddr { Glibc.connect(socket, $0, address.length) }
            } while result != 0 && errno == EINTR
            if result != 0 && errno == EINPROGRESS { result = 0 }
        }
        if result != 0 {
            let error = UVError(-errno)
            Glibc.close(socket)
            throw error
        }
        return socket
    }

    /// The socket became writable while connecting: connected, or failed (its pending error).
    func finishConnecting() {
        let error = tether_socket_error(socket)
        if error == -EINPROGRESS { return }   // not yet
        guard let completion = pendingConnect else { return }
        pendingConnect = nil
        watchWritable(false)
        if error < 0 {
            close()
            completion(.failure(UVError(error)))
        } else {
            completion(.success(self))
        }
    }
}
