import WebSocket

/// How the server answers permessage-deflate offers.
///
/// The server always asks for `server_no_context_takeover`: every outgoing message is a fresh
/// DEFLATE stream, so one `MessageDeflater` serves all connections and none keeps compressor
/// state. With the default `clientContextWindowBits` (nil) the server also always answers
/// `client_no_context_takeover` (RFC 7692 allows it even unoffered), so one `MessageInflater` serves
/// all connections too: permessage-deflate then costs 0 bytes per connection beyond the
/// negotiated parameters.
public struct DeflatePolicy: Sendable, Equatable {
    /// Default nil: never keep a client's context. A value 9...15 keeps the context of a client
    /// that did not ask to drop it, bounding its window to 2^bits bytes (the client must have
    /// offered client_max_window_bits for a bound below 15). Each such connection then owns a
    /// `MessageInflater` costing about 7 KiB of zlib state plus 2^bits bytes of window: 39 KiB at 15,
    /// 8.5 KiB at 10. Smaller messages on the wire, in exchange for that memory.
    public var clientContextWindowBits: Int?

    public init(clientContextWindowBits: Int? = nil) {
        precondition(clientContextWindowBits.map { (9...15).contains($0) } ?? true, "client window bits are 9...15")
        self.clientContextWindowBits = clientContextWindowBits
    }

    /// The agreed parameters for the first acceptable permessage-deflate offer among a request's
    /// `Sec-WebSocket-Extensions` headers, or nil when there is none (the connection goes uncompressed).
    public func negotiate(_ head: HTTPRequestHead) -> DeflateParameters? {
        let offers = head.values(of: .secWebSocketExtensions)
        return offers.isEmpty ? nil : negotiate(headerValues: offers)
    }

    /// As `negotiate(_:)`, from the header values in order.
    public func negotiate(headerValues: [String]) -> DeflateParameters? {
        for extensionOffer in ExtensionOffer.parse(headerValues) {
            if let offer = DeflateOffer(extensionOffer) { return accept(offer) }
        }
        return nil
    }

    private func accept(_ offer: DeflateOffer) -> DeflateParameters {
        var response = [DeflateOffer.extensionName, "server_no_context_takeover"]
        if let bits = offer.serverMaxWindowBits { response.append("server_max_window_bits=\(bits)") }
        var clientWindow: Int?
        if let bound = clientContextWindowBits, !offer.clientNoContextTakeover {
            if offer.clientMaxWindowBitsOffered {
                let bits = min(bound, offer.clientMaxWindowBitsHint ?? 15)
                response.append("client_max_window_bits=\(bits)")
                clientWindow = bits
            } else if bound == 15 {
                clientWindow = 15
            }
        }
        if clientWindow == nil { response.append("client_no_context_takeover") }
        return DeflateParameters(serverWindowBits: offer.serverMaxWindowBits ?? 15, clientContextWindowBits: clientWindow,
                                 responseHeaderValue: response.joined(separator: "; "))
    }
}
