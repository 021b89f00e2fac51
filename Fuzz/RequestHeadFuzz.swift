// libFuzzer entry for the HTTP request-head parser and the handshake: split into reads at sizes
// from the first byte; whatever the bytes, the parser answers within 8 KiB and never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let step = Int(data[0]) + 1
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var parser = RequestHeadParser()
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + step, bytes.count)
        switch parser.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) {
        case .needMore:
            precondition(parser.bufferedBytes < RequestHeadParser.maxHeadBytes)
            offset = end
        case .head(let head, let consumed):
            precondition(consumed > 0 && consumed <= end - offset)
            _ = Handshake.respond(to: head).serialized(keepAlive: head.keepAlive)
            offset += consumed
        case .failure(let status, _):
            precondition([400, 431, 505].contains(status))
            return 0
        }
    }
    return 0
}
