import CLibUV
import Glibc

/// A listening TCP socket. Each accepted socket is handed over as a `TCPConnection`: libuv accepts,
/// and the socket is taken from it as a descriptor, which a small poll handle then watches.
///
/// When the process runs out of descriptors libuv accepts and drops the pending connection
/// (its reserved-descriptor trick), so the loop does not spin; the listener reports the first
/// failure of each burst and stays quiet until an accept succeeds again.
public final class TCPListener: Handle {
    public var onConnection: ((TCPConnection) -> Void)?
    /// Makes the object for each accepted socket (the loop, the socket's descriptor to adopt): a
    /// `DelegatingConnection` unless set. If it throws, the listener closes the socket.
    public var makeConnection: (Loop, Int32) throws(UVError) -> TCPConnection = TCPListener.makeDelegatingConnection
    /// Called once per burst of accept failures (EMFILE, ENFILE, ...).
    public var onAcceptError: ((UVError) -> Void)?
    private var inErrorBurst = false

    public init(loop: Loop, host: String, port: Int, backlog: Int32 = 1024, reusePort: Bool = false) throws(UVError) {
        let address = try SocketAddress(host: host, port: port)
        let family = UInt32(address.family)
        try super.init(loop: loop, type: UV_TCP) { memory in
            uv_tcp_init_ex(loop.raw, memory.assumingMemoryBound(to: uv_tcp_t.self), family)
        }
        do throws(UVError) {
            if reusePort { try setReusePort() }
            try UVError.check(address.withSockaddr { uv_tcp_bind(handle.asTCP, $0, 0) })
            try UVError.check(uv_listen(handle.asStream, backlog, didReceiveConnection))
        } catch {
            close()
            throw error
        }
    }

    private func setReusePort() throws(UVError) {
        var fd: uv_os_fd_t = -1
        try UVError.check(uv_fileno(handle, &fd))
        var on: Int32 = 1
        if setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw UVError(-errno)
        }
    }

    /// Options for every socket accepted from now on, set once on the listening socket: Linux copies
    /// TCP_NODELAY and SO_SNDBUF to the sockets it accepts, which saves two system calls a connection.
    public func setAcceptedSocketOptions(noDelay: Bool, sendBufferBytes: Int?) throws(UVError) {
        var fd: uv_os_fd_t = -1
        try UVError.check(uv_fileno(handle, &fd))
        var on: Int32 = noDelay ? 1 : 0
        if setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw UVError(-errno)
        }
        if let sendBufferBytes {
            var value = Int32(clamping: sendBufferBytes)
            try UVError.check(uv_send_buffer_size(handle, &value))
        }
    }

    /// The address actually bound (useful with port 0).
    public var localAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(handle.asTCP, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage) : nil
    }

    override func didClose() {
        super.didClose()
        onConnection = nil
        onAcceptError = nil
        makeConnection = TCPListener.makeDelegatingConnection   // lets go of what the caller's factory captured
    }

    private static func makeDelegatingConnection(loop: Loop, socket: Int32) throws(UVError) -> TCPConnection {
        try DelegatingConnection(loop: loop, socket: socket)
    }

    fileprivate func accept(status: Int32) {
        guard status == 0 else { return report(UVError(status)) }
        // Taken as uv_accept would (libuv accepts the next one once this is -1 again), without the
        // uv_tcp_t uv_accept needs.
        let stream = handle.asStream
        let socket = stream.pointee.accepted_fd
        stream.pointee.accepted_fd = -1
        let connection: TCPConnection
        do {
            connection = try makeConnection(loop, socket)
        } catch {
            Glibc.close(socket)
            return report(error)
        }
        inErrorBurst = false
        if let onConnection { onConnection(connection) } else { connection.close() }
    }

    private func report(_ error: UVError) {
        guard !inErrorBurst else { return }
        inErrorBurst = true
        onAcceptError?(error)
    }
}

private func didReceiveConnection(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    let handle = UnsafeMutablePointer<uv_handle_t>(OpaquePointer(server!))
    (Handle.owner(of: handle) as! TCPListener).accept(status: status)
}
