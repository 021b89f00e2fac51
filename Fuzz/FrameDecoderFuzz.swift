// libFuzzer entry for the frame decoder: the input is split into reads at sizes taken from its
// first byte, so chunk boundaries are fuzzed along with the bytes. Compiled into the WebSocket
// sources by `make fuzz` (see Makefile).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let step = Int(data[0]) + 1
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    for (role, compression) in [(Role.server, false), (Role.client, false), (Role.server, true)] {
        var copy = bytes
        var decoder = FrameDecoder(role: role, maxMessageBytes: 4096)
        decoder.acceptsCompression = compression
        var delivered = 0
        copy.withUnsafeMutableBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + step, all.count)
                decoder.feed(UnsafeMutableRawBufferPointer(rebasing: all[offset..<end])) { event in
                    switch event {
                    case .text(let payload):
                        precondition(UTF8Validator.isValid(payload), "text events must be valid UTF-8")
                        delivered += payload.count
                    case .binary(let payload): delivered += payload.count
                    case .compressed(let opcode, let payload):
                        precondition(compression && (opcode == .text || opcode == .binary), "RSV1 only when negotiated, on data")
                        delivered += payload.count
                    case .ping(let payload), .pong(let payload): precondition(payload.count <= 125)
                    case .close, .failure: break
                    }
                }
                offset = end
            }
        }
        precondition(delivered <= bytes.count, "never more payload than input")
        precondition(decoder.bufferedBytes <= 4096 + 256 || decoder.isClosed, "memory bounded by the message limit")
    }
    bytes.removeAll()
    return 0
}
