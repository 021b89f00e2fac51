import CSSL

/// The memory BIOs a session shuttles ciphertext through. A memory BIO keeps its largest buffer
/// forever, so an emptied one whose buffer grew past `retainedCapacity` (a handshake flight, a
/// large message) gets a fresh, empty buffer: idle sessions stay small while a steady stream of
/// small records reuses the same buffer without allocating.
enum MemoryBIO {
    static let retainedCapacity = 1024

    static func make() -> OpaquePointer {
        guard let bio = BIO_new(BIO_s_mem()) else { fatalError("BIO_new: out of memory") }
        // An empty read BIO means "wait for more", not end of file.
        _ = BIO_ctrl(bio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nil)
        return bio
    }

    /// The unread bytes, in place (valid until the BIO is next written or read).
    static func pending(_ bio: OpaquePointer) -> UnsafeRawBufferPointer {
        var start: UnsafeMutablePointer<CChar>?
        let count = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &start)
        return UnsafeRawBufferPointer(start: start, count: count > 0 ? count : 0)
    }

    /// Forgets the first `count` unread bytes without copying them when they are all there is.
    static func discard(_ bio: OpaquePointer, count: Int) {
        guard count > 0 else { return }
        if BIO_ctrl_pending(bio) == count {
            empty(bio)
        } else {
            // Only when bytes were appended meanwhile; a rare path, so a small copy loop will do.
            var remaining = count
            withUnsafeTemporaryAllocation(byteCount: 512, alignment: 1) { scratch in
                while remaining > 0 {
                    let read = BIO_read(bio, scratch.baseAddress, Int32(min(remaining, scratch.count)))
                    if read <= 0 { break }
                    remaining -= Int(read)
                }
            }
        }
    }

    /// Empties the BIO, and gives back its buffer if it grew past `retainedCapacity`.
    static func empty(_ bio: OpaquePointer) {
        var buffer: UnsafeMutablePointer<BUF_MEM>?
        _ = BIO_ctrl(bio, BIO_C_GET_BUF_MEM_PTR, 0, &buffer)
        if let buffer, buffer.pointee.max > retainedCapacity, let fresh = BUF_MEM_new() {
            _ = BIO_ctrl(bio, BIO_C_SET_BUF_MEM, Int(BIO_CLOSE), fresh)   // frees the old buffer
        } else {
            _ = BIO_ctrl(bio, BIO_CTRL_RESET, 0, nil)
        }
    }

    /// After a read drained it: gives back a grown buffer, keeps a small one.
    static func trimIfEmpty(_ bio: OpaquePointer) {
        if BIO_ctrl_pending(bio) == 0 { empty(bio) }
    }
}
