import CLibUV

extension DelegatingConnection {
    /// Opens a client connection to `address`, optionally from a chosen local `source` address
    /// (a load generator spreads its sockets over 127.0.0.x this way).
    public static func connect(loop: Loop, to address: SocketAddress, from source: SocketAddress? = nil,
                               _ completion: @escaping (Result<DelegatingConnection, UVError>) -> Void) {
        let connection: DelegatingConnection
        do {
            connection = try DelegatingConnection(loop: loop)
            if let source {
                try UVError.check(source.withSockaddr { uv_tcp_bind(connection.handle.asTCP, $0, 0) })
            }
        } catch {
            return completion(.failure(error))
        }
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        let pending = PendingConnect(connection: connection, completion: completion)
        request.pointee.data = Unmanaged.passRetained(pending).toOpaque()
        let result = address.withSockaddr { sockaddr in
            uv_tcp_connect(request, connection.handle.asTCP, sockaddr) { request, status in
                let pending = Unmanaged<PendingConnect>.fromOpaque(request!.pointee.data).takeRetainedValue()
                request!.deallocate()
                if status < 0 {
                    pending.connection.close()
                    pending.completion(.failure(UVError(status)))
                } else {
                    pending.completion(.success(pending.connection))
                }
            }
        }
        if result < 0 {
            Unmanaged<PendingConnect>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            connection.close()
            completion(.failure(UVError(result)))
        }
    }
}

private final class PendingConnect {
    let connection: DelegatingConnection
    let completion: (Result<DelegatingConnection, UVError>) -> Void
    init(connection: DelegatingConnection, completion: @escaping (Result<DelegatingConnection, UVError>) -> Void) {
        self.connection = connection
        self.completion = completion
    }
}
