/// Decodes RESP2 and RESP3 replies from bytes in any chunking (sans-I/O: bytes in, replies out).
///
/// It keeps only what a reply split across reads needs: a partial line, a partial bulk payload
/// and the aggregates still open. RESP3 attributes (`|`) are read and dropped. After an error
/// every later `feed` throws the same error: the stream cannot be resynchronized.
public struct RESPDecoder {
    public let limits: RESPLimits

    private enum State {
        /// Waiting for a value's type byte.
        case type
        /// Inside the CRLF-terminated line after type byte `kind`.
        case line(kind: UInt8)
        /// `remaining` payload bytes of a bulk value of type `kind` still due.
        case bulk(kind: UInt8, remaining: Int)
        /// The CRLF after a bulk payload: `seen` of its two bytes read.
        case bulkEnd(kind: UInt8, seen: Int)
    }

    private struct Aggregate {
        let kind: UInt8
        var remaining: Int
        var items: [RedisReply]
    }

    private var state = State.type
    private var line: [UInt8] = []
    private var bulk: [UInt8] = []
    private var open: [Aggregate] = []
    private var elementsInReply = 0
    private var failure: RESPError?

    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// True between replies (nothing partial held).
    public var isIdle: Bool {
        if case .type = state { return open.isEmpty }
        return false
    }

    /// Decodes `bytes`, calling `onReply` for each complete top-level reply in order. When
    /// `onReply` returns false decoding stops and the rest of `bytes` is dropped (the owner is
    /// going away); such a decoder must not be fed again.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ onReply: (RedisReply) -> Bool) throws(RESPError) {
        if let failure { throw failure }
        do throws(RESPError) {
            try decode(bytes, onReply)
        } catch {
            failure = error
            throw error
        }
    }

    /// Decodes `bytes` and returns the replies they complete (for tests and tools).
    public mutating func feed(_ bytes: [UInt8]) throws(RESPError) -> [RedisReply] {
        var replies: [RedisReply] = []
        var outcome = Result<Void, RESPError>.success(())
        bytes.withUnsafeBytes { raw in
            do throws(RESPError) { try feed(raw) { replies.append($0); return true } } catch { outcome = .failure(error) }
        }
        try outcome.get()
        return replies
    }

    private mutating func decode(_ bytes: UnsafeRawBufferPointer, _ onReply: (RedisReply) -> Bool) throws(RESPError) {
        var position = 0
        while position < bytes.count {
            switch state {
            case .type:
                let kind = bytes[position]
                guard RESPDecoder.isType(kind) else { throw .unknownType(kind) }
                position += 1
                state = .line(kind: kind)

            case .line(let kind):
                guard let end = RESPDecoder.indexOfLF(in: bytes, from: position) else {
                    try holdPartialLine(UnsafeRawBufferPointer(rebasing: bytes[position...]))
                    position = bytes.count
                    break
                }
                let piece = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
                position = end + 1
                let value: RedisReply?
                if line.isEmpty {
                    value = try finishLine(kind, piece)
                } else {
                    try holdPartialLine(piece)
                    var held: [UInt8] = []
                    swap(&held, &line)   // finishLine mutates self: the held line must not be borrowed from it
                    var outcome = Result<RedisReply?, RESPError>.success(nil)
                    held.withUnsafeBytes { raw in
                        do throws(RESPError) { outcome = .success(try finishLine(kind, raw)) } catch { outcome = .failure(error) }
                    }
                    value = try outcome.get()
                    if held.capacity <= 4096 {
                        held.removeAll(keepingCapacity: true)
                        line = held
                    }
                }
                if let value, !complete(value, onReply) { return }

            case .bulk(let kind, let remaining):
                let take = min(remaining, bytes.count - position)
                bulk.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + take)]))
                position += take
                state = remaining == take ? .bulkEnd(kind: kind, seen: 0) : .bulk(kind: kind, remaining: remaining - take)

            case .bulkEnd(let kind, let seen):
                guard bytes[position] == (seen == 0 ? 13 : 10) else { throw .missingCRLF }
                position += 1
                if seen == 0 {
                    state = .bulkEnd(kind: kind, seen: 1)
                    break
                }
                state = .type
                let payload = bulk
                bulk = []
                if !complete(try RESPDecoder.bulkValue(kind, payload), onReply) { return }
            }
        }
    }

    private mutating func holdPartialLine(_ piece: UnsafeRawBufferPointer) throws(RESPError) {
        // +1: the CR before the LF is still part of what is held.
        guard line.count + piece.count <= limits.maxLineBytes + 1 else { throw .lineTooLong }
        line.append(contentsOf: piece)
    }

    /// Handles a whole line (CR still at its end) after type byte `kind`; returns a value if it completes one.
    private mutating func finishLine(_ kind: UInt8, _ withCR: UnsafeRawBufferPointer) throws(RESPError) -> RedisReply? {
        // Length first, as for a line held across reads, so chunking never changes the error.
        guard withCR.count <= limits.maxLineBytes + 1 else { throw .lineTooLong }
        guard withCR.last == 13 else { throw .missingCRLF }
        let text = UnsafeRawBufferPointer(rebasing: withCR.dropLast())
        state = .type
        switch kind {
        case UInt8(ascii: "+"): return .simpleString(Array(text))
        case UInt8(ascii: "-"): return .error(Array(text))
        case UInt8(ascii: ":"): return .integer(try RESPDecoder.integer(text))
        case UInt8(ascii: "_"):
            guard text.isEmpty else { throw .invalidValue }
            return .null
        case UInt8(ascii: "#"):
            guard text.count == 1, text[0] == UInt8(ascii: "t") || text[0] == UInt8(ascii: "f") else { throw .invalidValue }
            return .boolean(text[0] == UInt8(ascii: "t"))
        case UInt8(ascii: ","): return .double(try RESPDecoder.double(text))
        case UInt8(ascii: "("): return .bigNumber(try RESPDecoder.bigNumber(text))
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let length = try RESPDecoder.integer(text)
            if length == -1 && kind == UInt8(ascii: "$") { return .bulkString(nil) }
            guard length >= 0 else { throw .invalidNumber }
            guard length <= limits.maxBulkBytes else { throw .bulkTooLarge(Int(clamping: length)) }
            bulk = []
            bulk.reserveCapacity(Int(length))
            state = length == 0 ? .bulkEnd(kind: kind, seen: 0) : .bulk(kind: kind, remaining: Int(length))
            return nil
        default:   // aggregates: * % ~ > |
            let count = try RESPDecoder.integer(text)
            if count == -1 && kind == UInt8(ascii: "*") { return .array(nil) }
            guard count >= 0, count <= Int64(limits.maxElements) else {
                throw count < 0 ? .invalidNumber : .tooManyElements(Int(clamping: count))
            }
            let elements = kind == UInt8(ascii: "%") || kind == UInt8(ascii: "|") ? Int(count) * 2 : Int(count)
            guard elementsInReply + elements <= limits.maxElements else { throw .tooManyElements(elementsInReply + elements) }
            guard open.count < limits.maxDepth else { throw .tooDeep }
            elementsInReply += elements
            var aggregate = Aggregate(kind: kind, remaining: elements, items: [])
            if elements == 0 { return RESPDecoder.build(aggregate) }
            aggregate.items.reserveCapacity(min(elements, 1024))
            open.append(aggregate)
            return nil
        }
    }

    /// Adds a finished value to the innermost open aggregate, closing aggregates it completes;
    /// a finished top-level value goes to `onReply`.
    private mutating func complete(_ finished: RedisReply?, _ onReply: (RedisReply) -> Bool) -> Bool {
        guard var value = finished else { return true }   // a dropped attribute
        while !open.isEmpty {
            let last = open.count - 1
            open[last].items.append(value)
            open[last].remaining -= 1
            if open[last].remaining > 0 { return true }
            guard let built = RESPDecoder.build(open.removeLast()) else { return true }
            value = built
        }
        elementsInReply = 0
        return onReply(value)
    }

    /// The value of a closed aggregate; nil for an attribute, which is metadata about the next value.
    private static func build(_ aggregate: Aggregate) -> RedisReply? {
        switch aggregate.kind {
        case UInt8(ascii: "*"): return .array(aggregate.items)
        case UInt8(ascii: "~"): return .set(aggregate.items)
        case UInt8(ascii: ">"): return .push(aggregate.items)
        case UInt8(ascii: "%"):
            var pairs: [RedisPair] = []
            pairs.reserveCapacity(aggregate.items.count / 2)
            var index = 0
            while index < aggregate.items.count {
                pairs.append(RedisPair(key: aggregate.items[index], value: aggregate.items[index + 1]))
                index += 2
            }
            return .map(pairs)
        default: return nil
        }
    }

    private static func bulkValue(_ kind: UInt8, _ payload: [UInt8]) throws(RESPError) -> RedisReply {
        switch kind {
        case UInt8(ascii: "!"): return .error(payload)
        case UInt8(ascii: "="):
            guard payload.count >= 4, payload[3] == UInt8(ascii: ":") else { throw .invalidValue }
            return .verbatim(format: Array(payload[0..<3]), text: Array(payload[4...]))
        default: return .bulkString(payload)
        }
    }

    private static func isType(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "*"),
             UInt8(ascii: "_"), UInt8(ascii: "#"), UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: "!"),
             UInt8(ascii: "="), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            return true
        default:
            return false
        }
    }

    private static func indexOfLF(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == 10 { return index }
            index += 1
        }
        return nil
    }

    /// A signed 64-bit decimal: optional `-`, 1-19 digits, no overflow.
    static func integer(_ text: UnsafeRawBufferPointer) throws(RESPError) -> Int64 {
        let negative = text.first == UInt8(ascii: "-")
        let digits = UnsafeRawBufferPointer(rebasing: text[(negative ? 1 : 0)...])
        guard !digits.isEmpty else { throw .invalidNumber }
        var magnitude: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .invalidNumber }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw .invalidNumber }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw .invalidNumber }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw .invalidNumber }
        return Int64(magnitude)
    }

    private static func double(_ text: UnsafeRawBufferPointer) throws(RESPError) -> Double {
        // Swift's parser also takes hex floats and spaces would be rejected; RESP sends decimal, inf, -inf, nan.
        guard !text.isEmpty, text.allSatisfy({ $0 > 32 && $0 < 127 }),
              let value = Double(String(decoding: text, as: UTF8.self)) else { throw .invalidValue }
        return value
    }

    private static func bigNumber(_ text: UnsafeRawBufferPointer) throws(RESPError) -> [UInt8] {
        let digits = text.first == UInt8(ascii: "-") ? UnsafeRawBufferPointer(rebasing: text.dropFirst()) : text
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .invalidValue
        }
        return Array(text)
    }
}
