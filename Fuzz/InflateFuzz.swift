// libFuzzer entry for the inflate path: the input, after a first byte that picks the message
// limit, is taken as a compressed message (raw deflate without its sync-flush tail, as RFC 7692
// sends it). Whatever it holds, inflating must end (ok, too big or bad data), never produce
// more than the limit, and agree with a fresh inflater on the same bytes. Compiled with the
// WebSocket and WebSocketDeflate sources as one module by `make fuzz` (see Makefile).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflate(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let limit = 1 + Int(data[0]) * 64   // 1 byte ... about 16 KiB, so bombs meet the limit quickly
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let shared = FuzzInflaters.shared(limit: limit)
    var first: [UInt8]?
    let error = shared.inflate(input) { output in
        precondition(output.count <= limit, "inflated past the message limit")
        first = Array(output)
    }
    precondition((error == nil) == (first != nil), "a result or an error, never both")
    // The shared inflater is reset per message: a fresh one must say exactly the same.
    let fresh = MessageInflater(maxMessageBytes: limit)
    var second: [UInt8]?
    let again = fresh.inflate(input) { second = Array($0) }
    precondition(again == error && second == first, "the shared inflater kept state between messages")
    return 0
}

/// One shared inflater per limit, as the server keeps one for every connection.
enum FuzzInflaters {
    nonisolated(unsafe) private static var byLimit: [Int: MessageInflater] = [:]

    static func shared(limit: Int) -> MessageInflater {
        if let inflater = byLimit[limit] { return inflater }
        let inflater = MessageInflater(maxMessageBytes: limit)
        byLimit[limit] = inflater
        return inflater
    }
}
