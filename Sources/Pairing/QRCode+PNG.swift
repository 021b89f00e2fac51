import CZlib

extension QRCode {
    /// A 1-bit greyscale PNG of the symbol, `scale` pixels per module, with a light `quietZone`,
    /// for screens that cannot draw SVG. Chunks are framed by hand; zlib compresses and checksums.
    public func png(scale: Int = 8, quietZone: Int = 4) -> [UInt8] {
        let side = (size + 2 * quietZone) * scale
        let rowBytes = (side + 7) / 8
        var raw: [UInt8] = []
        raw.reserveCapacity(side * (rowBytes + 1))
        var line = [UInt8](repeating: 0, count: rowBytes + 1)  // line[0] is the filter byte: 0, none
        for moduleRow in -quietZone..<(size + quietZone) {
            for index in 1..<line.count { line[index] = 0 }
            for x in 0..<side where isLight(x / scale - quietZone, moduleRow) {
                line[1 + x / 8] |= 0x80 >> UInt8(x % 8)
            }
            for _ in 0..<scale { raw += line }  // a module row is `scale` identical pixel rows
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(side)) + bigEndian(UInt32(side))
        header += [1, 0, 0, 0, 0]  // bit depth 1, greyscale, deflate, no filter set, no interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", deflate(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    private func isLight(_ column: Int, _ row: Int) -> Bool {
        guard (0..<size).contains(column), (0..<size).contains(row) else { return true }
        return !isDark(row: row, column: column)
    }
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

private func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
    let typed = Array(type.utf8) + data
    png += bigEndian(UInt32(data.count)) + typed
    let crc = typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
    png += bigEndian(UInt32(crc))
}

private func deflate(_ input: [UInt8]) -> [UInt8] {
    var length = compressBound(uLong(input.count))
    var output = [UInt8](repeating: 0, count: Int(length))
    let status = output.withUnsafeMutableBufferPointer { out in
        input.withUnsafeBufferPointer { compress2(out.baseAddress, &length, $0.baseAddress, uLong($0.count), Z_BEST_SPEED) }
    }
    precondition(status == Z_OK, "zlib compress2 failed: \(status)")  // only fails for a too-small buffer
    return Array(output[..<Int(length)])
}
