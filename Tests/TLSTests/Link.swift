import TLS

/// A `TLSSession` and a `TestClient` joined in memory: bytes move when a test says so, in the
/// chunks it chooses, and what the server reported is recorded.
final class Link {
    let server: TLSSession
    let client: TestClient
    var serverReceived: [UInt8] = []
    var serverHandshakes = 0
    var serverSawPeerClose = false
    var serverFailures: [TLSError] = []
    var plaintextBufferSize = 16384

    init(context: TLSContext, client: TestClient = TestClient()) {
        server = TLSSession(context: context)
        self.client = client
    }

    /// Feeds the client's pending ciphertext to the server, cut by `chunk(remaining)`.
    func toServer(chunk: (Int) -> Int = { $0 }) {
        let bytes = client.takeOutput()
        var index = 0
        var plaintext = [UInt8](repeating: 0, count: plaintextBufferSize)
        while index < bytes.count {
            let count = max(1, min(chunk(bytes.count - index), bytes.count - index))
            bytes[index..<index + count].withUnsafeBytes { ciphertext in
                plaintext.withUnsafeMutableBytes { buffer in
                    server.feed(ciphertext, plaintextBuffer: buffer, record)
                }
            }
            index += count
        }
    }

    func feedServer(_ bytes: [UInt8]) {
        var plaintext = [UInt8](repeating: 0, count: plaintextBufferSize)
        bytes.withUnsafeBytes { ciphertext in
            plaintext.withUnsafeMutableBytes { server.feed(ciphertext, plaintextBuffer: $0, record) }
        }
    }

    func record(_ event: TLSEvent) {
        switch event {
        case .handshakeCompleted: serverHandshakes += 1
        case .plaintext(let bytes): serverReceived += bytes
        case .peerClosed: serverSawPeerClose = true
        case .failure(let error): serverFailures.append(error)
        }
    }

    /// The server's pending ciphertext, drained.
    func serverOutput() -> [UInt8] {
        var bytes = [UInt8]()
        server.drainCiphertext { bytes += $0 }
        return bytes
    }

    func toClient() { client.receive(serverOutput()) }

    /// Runs the handshake to its end (or failure); true when both sides completed it.
    @discardableResult
    func handshake() -> Bool {
        for _ in 0..<10 {
            guard client.handshake() else { return false }
            toServer()
            toClient()
            if client.handshakeDone && server.handshakeDone {
                client.handshake()
                toServer()   // anything the client still had to say
                return true
            }
            if !serverFailures.isEmpty { return false }
        }
        return false
    }
}
