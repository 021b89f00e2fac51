/// One reply from Redis, RESP2 or RESP3, or the link's failure to get one.
///
/// Byte strings stay `[UInt8]`: keys, ids and payloads are bytes, and most replies are never
/// shown as text.
public enum RedisReply: Equatable, Sendable {
    case simpleString([UInt8])
    /// An error reply from the server (`-ERR ...`, or a RESP3 blob error): the command failed, the link is fine.
    case error([UInt8])
    case integer(Int64)
    /// nil is RESP2's null bulk string (`$-1`).
    case bulkString([UInt8]?)
    /// nil is RESP2's null array (`*-1`).
    case array([RedisReply]?)
    /// RESP3 null (`_`).
    case null
    case boolean(Bool)
    case double(Double)
    /// Digits (with an optional leading `-`), kept as text: they may not fit any fixed-width integer.
    case bigNumber([UInt8])
    /// RESP3 verbatim string: `format` is three bytes such as `txt` or `mkd`.
    case verbatim(format: [UInt8], text: [UInt8])
    case map([RedisPair])
    case set([RedisReply])
    /// RESP3 out-of-band data (pub/sub messages, invalidations).
    case push([RedisReply])
    /// No reply came: the link failed or was never up. Never produced by the decoder.
    case failure(RedisError)
}

/// One key/value entry of a RESP3 map, in the order the server sent it.
public struct RedisPair: Equatable, Sendable {
    public var key: RedisReply
    public var value: RedisReply

    public init(key: RedisReply, value: RedisReply) {
        self.key = key
        self.value = value
    }
}

extension RedisReply {
    /// True for a server error and for a link failure alike.
    public var isError: Bool {
        switch self {
        case .error, .failure: true
        default: false
        }
    }

    /// The bytes of a simple, bulk or verbatim string, or a big number; nil otherwise.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let bytes), .bigNumber(let bytes): bytes
        case .bulkString(let bytes): bytes
        case .verbatim(_, let text): text
        default: nil
        }
    }

    /// `bytes` (or an error's text) as UTF-8, for logs and tests.
    public var string: String? {
        if case .error(let text) = self { return String(decoding: text, as: UTF8.self) }
        return bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements of an array, set or push (nil for a null array and for other types).
    public var elements: [RedisReply]? {
        switch self {
        case .array(let elements): elements
        case .set(let elements), .push(let elements): elements
        default: nil
        }
    }

    /// True when an error reply's text starts with `prefix` (its code, as in `NOSCRIPT`).
    public func isError(code prefix: String) -> Bool {
        guard case .error(let text) = self else { return false }
        return text.starts(with: prefix.utf8)
    }
}
