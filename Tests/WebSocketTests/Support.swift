import WebSocket

/// A masked client frame, built by hand from the RFC's layout so the tests do not trust the
/// encoder under test.
func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0,
                 masked: Bool = true, key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    if payload.count <= 125 {
        frame.append(maskBit | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
        frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        frame.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
    }
    guard masked else { return frame + payload }
    frame += key
    frame += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    return frame
}

/// What a decoder run produced, copied out of the callback so it can be compared.
enum Decoded: Equatable, CustomStringConvertible {
    case text([UInt8]), binary([UInt8]), ping([UInt8]), pong([UInt8])
    case compressedText([UInt8]), compressedBinary([UInt8])
    case close(UInt16?, [UInt8])
    case failure(UInt16)

    init(_ event: FrameEvent) {
        switch event {
        case .text(let bytes): self = .text(Array(bytes))
        case .binary(let bytes): self = .binary(Array(bytes))
        case .compressed(let opcode, let bytes): self = opcode == .text ? .compressedText(Array(bytes)) : .compressedBinary(Array(bytes))
        case .ping(let bytes): self = .ping(Array(bytes))
        case .pong(let bytes): self = .pong(Array(bytes))
        case .close(let code, let reason): self = .close(code, Array(reason))
        case .failure(let code, _): self = .failure(code.rawValue)
        }
    }

    var description: String {
        switch self {
        case .text(let b): "text(\(b.count))"
        case .binary(let b): "binary(\(b.count))"
        case .compressedText(let b): "compressedText(\(b.count))"
        case .compressedBinary(let b): "compressedBinary(\(b.count))"
        case .ping(let b): "ping(\(b.count))"
        case .pong(let b): "pong(\(b.count))"
        case .close(let c, let r): "close(\(c.map(String.init) ?? "nil"), \(r.count))"
        case .failure(let c): "failure(\(c))"
        }
    }
}

/// Feeds `bytes` to a fresh decoder in the given chunks; each chunk is copied into its own
/// buffer as a socket read would be, and unmasked there in place.
func decode(_ bytes: [UInt8], chunks: [Int], role: Role = .server, maxMessageBytes: Int = 1 << 20, compression: Bool = false) -> [Decoded] {
    var decoder = FrameDecoder(role: role, maxMessageBytes: maxMessageBytes)
    decoder.acceptsCompression = compression
    var events: [Decoded] = []
    var offset = 0
    for size in chunks {
        var chunk = Array(bytes[offset..<offset + size])
        offset += size
        chunk.withUnsafeMutableBytes { decoder.feed($0) { events.append(Decoded($0)) } }
    }
    return events
}

/// The chunkings every case is checked under: whole, byte by byte, and every two-way split.
/// Past 4 KiB a split inside a long payload behaves like its neighbours, so there the splits
/// cover every header and boundary byte and every 257th byte in between (quadratic otherwise).
func chunkings(of count: Int) -> [[Int]] {
    var result: [[Int]] = [[count], Array(repeating: 1, count: count)]
    guard count > 1 else { return result }
    let splits = count <= 4096 ? Array(1..<count)
        : Array(1..<64) + Array(stride(from: 64, to: count - 64, by: 257)) + Array((count - 64)..<count)
    for split in splits { result.append([split, count - split]) }
    return result
}

/// Decodes `bytes` under every chunking; returns the first chunking whose events differ from
/// the whole-buffer result, or nil when all agree, plus that result.
func decodeUnderAllChunkings(_ bytes: [UInt8], role: Role = .server, maxMessageBytes: Int = 1 << 20,
                             compression: Bool = false) -> (events: [Decoded], mismatch: [Int]?) {
    let whole = decode(bytes, chunks: [bytes.count], role: role, maxMessageBytes: maxMessageBytes, compression: compression)
    for chunking in chunkings(of: bytes.count) {
        if decode(bytes, chunks: chunking, role: role, maxMessageBytes: maxMessageBytes, compression: compression) != whole {
            return (whole, chunking)
        }
    }
    return (whole, nil)
}
