import CQREncode

/// A QR code symbol: a square of dark and light modules, drawn by libqrencode.
public struct QRCode: Sendable, Equatable {
    /// Modules per side (21 for version 1, four more per version).
    public let size: Int
    /// Row-major, `true` for dark.
    public let modules: [Bool]

    /// Encodes `text` as 8-bit data at error-correction level M, in the smallest version that fits.
    /// Nil when the text is too long for any QR version (about 2.3 KB at level M).
    public init?(encoding text: String) {
        guard let symbol = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(symbol) }
        let size = Int(symbol.pointee.width)
        let data = UnsafeBufferPointer(start: symbol.pointee.data, count: size * size)
        self.size = size
        // Bit 0 of each byte is the module's colour; the other bits describe its role.
        modules = data.map { $0 & 1 == 1 }
    }

    public func isDark(row: Int, column: Int) -> Bool { modules[row * size + column] }
}
