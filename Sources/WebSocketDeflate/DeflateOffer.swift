/// A permessage-deflate offer whose parameters are known, unique and well-formed (RFC 7692
/// section 7.1); window bits are 8...15 and nil when absent.
struct DeflateOffer: Equatable {
    var serverNoContextTakeover = false
    var clientNoContextTakeover = false
    var serverMaxWindowBits: Int?
    /// The client accepts a client_max_window_bits answer; `clientMaxWindowBitsHint` is its value, if any.
    var clientMaxWindowBitsOffered = false
    var clientMaxWindowBitsHint: Int?

    static let extensionName = "permessage-deflate"

    /// nil for another extension, or for an offer with an unknown, repeated or malformed parameter.
    init?(_ offer: ExtensionOffer) {
        guard offer.name.lowercased() == DeflateOffer.extensionName else { return nil }
        var seen = Set<String>()
        for (rawName, value) in offer.parameters {
            let name = rawName.lowercased()
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let bits = DeflateOffer.windowBits(value) else { return nil }
                serverMaxWindowBits = bits
            case "client_max_window_bits":
                clientMaxWindowBitsOffered = true
                if value != nil {
                    guard let bits = DeflateOffer.windowBits(value) else { return nil }
                    clientMaxWindowBitsHint = bits
                }
            default:
                return nil
            }
        }
    }

    /// 8...15 in decimal without leading zeros.
    private static func windowBits(_ value: String?) -> Int? {
        guard let value, let bits = Int(value), (8...15).contains(bits), String(bits) == value else { return nil }
        return bits
    }
}
