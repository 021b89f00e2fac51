/// Status codes of replies the server sends to a device (see docs/protocol.md).
public enum Status: Int, Sendable {
    case ok = 0
    case targetOffline = 1
    case malformed = 2
    case binaryUnsupported = 3
    case forbidden = 4
    case recipientBusy = 5
    case rateLimited = 6
    case clusterUnavailable = 7
    /// Kept for an offline recipient: delivered when it connects within the message's ttl.
    case queued = 8
}

extension Reply {
    /// A message routed to a recipient whose connection ended before the kernel took it.
    public static func undelivered(to recipient: String, online: Bool, idJSON: [UInt8]?) -> Reply {
        Reply(.targetOffline, "not delivered: the recipient's connection ended first",
              dataJSON: statusMap([(recipient, online)]), idJSON: idJSON)
    }
}

extension Reply {
    /// `{"status":8,"message":"queued","data":{"box-1":"offline"},"id":17}`: the message is kept.
    public static func queued(for recipient: String, idJSON: [UInt8]?) -> Reply {
        Reply(.queued, "queued", dataJSON: statusMap([(recipient, false)]), idJSON: idJSON)
    }

    /// Status 5: a bound on kept messages would be passed, so the message is not kept.
    public static func offlineQueueFull(for recipient: String, idJSON: [UInt8]?) -> Reply {
        Reply(.recipientBusy, "offline queue full", dataJSON: statusMap([(recipient, false)]), idJSON: idJSON)
    }

    /// The receipt for a kept message handed to its recipient.
    public static func delivered(to recipient: String, idJSON: [UInt8]?) -> Reply {
        Reply(.ok, "delivered", dataJSON: statusMap([(recipient, true)]), idJSON: idJSON)
    }

    /// The receipt for a kept message whose ttl ran out before its recipient came.
    public static func expired(for recipient: String, idJSON: [UInt8]?) -> Reply {
        Reply(.targetOffline, "expired", dataJSON: statusMap([(recipient, false)]), idJSON: idJSON)
    }
}

/// `{"status":N,"message":"...","data":{...},"id":<the client's id>}`: built on the cold path
/// (errors and server commands), so plain string building is fine.
public struct Reply: Equatable, Sendable {
    public var status: Status
    public var message: String
    /// Raw JSON for `data`; nil sends `{}`.
    public var dataJSON: String?
    /// The raw JSON of the client's `id` field, copied back as is.
    public var idJSON: [UInt8]?

    public init(_ status: Status, _ message: String, dataJSON: String? = nil, idJSON: [UInt8]? = nil) {
        self.status = status
        self.message = message
        self.dataJSON = dataJSON
        self.idJSON = idJSON
    }

    /// Built byte by byte: status 8 replies and receipts go out once per kept message.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(48 + message.utf8.count + (dataJSON?.utf8.count ?? 2) + (idJSON?.count ?? 0))
        bytes += #"{"status":"#.utf8
        bytes += String(status.rawValue).utf8
        bytes += #","message":""#.utf8
        appendEscaped(message, to: &bytes)
        bytes += #"","data":"#.utf8
        bytes += (dataJSON ?? "{}").utf8   // always an object: one shape for every reply
        if let idJSON {
            bytes += #","id":"#.utf8
            bytes += idJSON
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// `{"A":"online","B":"offline"}` for a status query.
    public static func statusMap(_ states: [(String, Bool)]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, (id, online)) in states.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            appendEscaped(id, to: &bytes)
            bytes += (online ? #"":"online""# : #"":"offline""#).utf8
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Appends `text` escaped for a JSON string literal; text with nothing to escape (the usual case:
/// device ids, fixed messages) is copied as is.
func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
    let utf8 = text.utf8
    if utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
        bytes += utf8
    } else {
        bytes += jsonEscape(text).utf8
    }
}

/// Escapes text for a JSON string literal (without the quotes).
public func jsonEscape(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}
