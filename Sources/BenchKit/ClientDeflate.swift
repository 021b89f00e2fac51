import WebSocket
import WebSocketDeflate

/// permessage-deflate for bench clients (RFC 7692). The offer asks both sides to drop their
/// context between messages (what Tether always agrees to), so one deflater and one inflater
/// serve every client on the (single-threaded) bench.
public enum ClientDeflate {
    static let offer = "permessage-deflate; client_no_context_takeover; server_no_context_takeover"

    nonisolated(unsafe) static let deflater = MessageDeflater()
    nonisolated(unsafe) static let inflater = MessageInflater(maxMessageBytes: 64 << 20)
    /// Clients whose offer the server accepted (the bench checks it was all of them).
    nonisolated(unsafe) public static var agreements = 0

    /// Whether a 101 response head (lower-cased) agreed to permessage-deflate.
    static func agreed(inLowercasedHead head: String) -> Bool {
        head.contains("\r\nsec-websocket-extensions: permessage-deflate")
    }

    /// Compresses `message` (when that makes it smaller; `MessageDeflater.minimumSize` and up)
    /// and lends the masked client frame, RSV1 set, to `body`; false when it should go as it is.
    static func withCompressedFrame(_ message: UnsafeRawBufferPointer, maskKey: UInt32,
                                    _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        deflater.compress(message) { compressed in
            Scratch.shared.withFrame(compressed, maskKey: maskKey, compressed: true, body)
        }
    }

    /// Inflates a compressed message's payload; `body` gets the message, valid during the call.
    static func inflate(_ payload: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) -> InflateError? {
        inflater.inflate(payload, body)
    }
}
