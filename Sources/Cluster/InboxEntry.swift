import Redis

/// One entry of a node's inbox stream (`tether:inbox:{node}`): what other nodes, and the
/// registry's scripts, hand this node.
enum InboxEntry: Equatable {
    /// Messages from one node for devices here, as `InboxRecord`s (each with who sent it, for a
    /// status reply if it cannot be delivered).
    case messages(senderNode: String, records: [UInt8])
    /// A device elsewhere came online or went offline.
    case presence(device: String, online: Bool)
    /// The device's connection with this serial was replaced by one on another node.
    case replace(device: String, serial: UInt64)
    /// A status reply for a device here, about a message it sent to another node.
    case answer(device: String, reply: [UInt8])
    /// Something was kept for a device here after it was claimed: take it.
    case kept(device: String)
    /// Token mode: `lister` (elsewhere) and the device here list one another one way or the other.
    case listed(device: String, lister: String)
    case revoked(box: String, phone: String, until: Int64)
    case lifted(box: String, phone: String)
    /// The operator disconnects a device here.
    case disconnect(device: String, reason: String)

    /// Parses an entry's flat field list (`t`, `d`, ... then their values); nil when it is not one of ours.
    init?(fields: [RedisReply]) {
        var values: [UInt8: [UInt8]] = [:]
        var index = 0
        while index + 1 < fields.count {
            if let name = fields[index].bytes, name.count == 1, let value = fields[index + 1].bytes { values[name[0]] = value }
            index += 2
        }
        func text(_ field: Character) -> String? { values[field.asciiValue!].map { String(decoding: $0, as: UTF8.self) } }
        guard let type = values[UInt8(ascii: "t")]?.first else { return nil }
        if type == UInt8(ascii: "b") {
            guard let node = text("n"), let records = values[UInt8(ascii: "m")] else { return nil }
            self = .messages(senderNode: node, records: records)
            return
        }
        guard let device = text("d") else { return nil }
        switch type {
        case UInt8(ascii: "p"):
            guard let online = text("o") else { return nil }
            self = .presence(device: device, online: online == "1")
        case UInt8(ascii: "r"):
            guard let serial = text("s").flatMap({ UInt64($0) }) else { return nil }
            self = .replace(device: device, serial: serial)
        case UInt8(ascii: "a"):
            guard let reply = values[UInt8(ascii: "b")] else { return nil }
            self = .answer(device: device, reply: reply)
        case UInt8(ascii: "k"):
            self = .kept(device: device)
        case UInt8(ascii: "g"):
            guard let lister = text("w") else { return nil }
            self = .listed(device: device, lister: lister)
        case UInt8(ascii: "v"):
            guard let phone = text("p"), let until = text("u").flatMap({ Int64($0) }) else { return nil }
            self = .revoked(box: device, phone: phone, until: until)
        case UInt8(ascii: "l"):
            guard let phone = text("p") else { return nil }
            self = .lifted(box: device, phone: phone)
        case UInt8(ascii: "x"):
            self = .disconnect(device: device, reason: text("b") ?? "disconnected by the operator")
        default:
            return nil
        }
    }

    /// The entries of an XREAD reply for one stream, with their ids (RESP2 arrays or a RESP3 map);
    /// empty for a timed-out read.
    static func entries(inXREADReply reply: RedisReply) -> [(id: [UInt8], fields: [RedisReply])] {
        let streamEntries: [RedisReply]
        switch reply {
        case .array(let streams?):
            guard let first = streams.first?.elements, first.count == 2, let list = first[1].elements else { return [] }
            streamEntries = list
        case .map(let pairs):
            guard let list = pairs.first?.value.elements else { return [] }
            streamEntries = list
        default:
            return []
        }
        return streamEntries.compactMap { entry in
            guard let parts = entry.elements, parts.count == 2, let id = parts[0].bytes else { return nil }
            let fields: [RedisReply]
            switch parts[1] {
            case .array(let list?): fields = list
            case .map(let pairs): fields = pairs.flatMap { [$0.key, $0.value] }
            default: fields = []
            }
            return (id, fields)
        }
    }
}
