import CZlib

/// A z_stream at a fixed address (zlib keeps a pointer back to it), set up for raw DEFLATE:
/// permessage-deflate carries no zlib header or checksum.
enum ZStream {
    static func makeDeflater(level: Int32, windowBits: Int, memoryLevel: Int32) -> UnsafeMutablePointer<z_stream> {
        let stream = allocate()
        let status = deflateInit2_(stream, level, Z_DEFLATED, -Int32(windowBits), memoryLevel, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")   // only for bad arguments or no memory
        return stream
    }

    static func makeInflater(windowBits: Int) -> UnsafeMutablePointer<z_stream> {
        let stream = allocate()
        let status = inflateInit2_(stream, -Int32(windowBits), ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "inflateInit2 failed: \(status)")
        return stream
    }

    private static func allocate() -> UnsafeMutablePointer<z_stream> {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        return stream
    }
}
