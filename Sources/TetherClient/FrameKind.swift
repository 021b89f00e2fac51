/// What a frame from the server is, judged only by what a peer cannot forge (docs/protocol.md,
/// "Telling replies from messages"): the server checks every routed message's `from`, and its
/// own replies never carry one. The same rules as the JavaScript client's `frameKind`.
enum FrameKind: Equatable {
    case reply, presence, message, server, ignore

    init(_ frame: JSONValue, selfID: String) {
        guard case .object(let members) = frame else { self = .ignore; return }
        guard let from = members["from"] else {
            if case .number = members["status"] { self = .reply } else { self = .ignore }
            return
        }
        let to = members["to"]?.stringValue
        if from == "server" { self = to == selfID ? .server : .ignore; return }
        guard let sender = from.stringValue, DeviceID.isValid(sender) else { self = .ignore; return }
        if to == "all" {
            let msg = members["msg"]?.stringValue
            self = msg == "online" || msg == "offline" ? .presence : .ignore
            return
        }
        self = to == selfID ? .message : .ignore
    }
}

/// Device id rules (docs/protocol.md, "Connecting a device").
public enum DeviceID {
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...128).contains(bytes.count), id != "all", id != "server" else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "~"):
                true
            default:
                false
            }
        }
    }
}
