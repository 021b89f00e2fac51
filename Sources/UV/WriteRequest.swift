import CLibUV

/// A queued write: one allocation holding the uv_write_t followed by the bytes it had to copy.
/// `data` holds a retained SharedBuffer when the write references one instead of copying.
struct WriteRequest {
    let raw: UnsafeMutablePointer<uv_write_t>

    static func allocate(copying byteCount: Int) -> WriteRequest {
        let size = MemoryLayout<uv_write_t>.stride + byteCount
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        let raw = memory.bindMemory(to: uv_write_t.self, capacity: 1)
        raw.pointee.data = nil
        return WriteRequest(raw: raw)
    }

    var storage: UnsafeMutableRawPointer { UnsafeMutableRawPointer(raw) + MemoryLayout<uv_write_t>.stride }

    func retain(_ shared: SharedBuffer) {
        raw.pointee.data = Unmanaged.passRetained(shared).toOpaque()
    }

    func free() {
        if let owner = raw.pointee.data {
            Unmanaged<SharedBuffer>.fromOpaque(owner).release()
        }
        UnsafeMutableRawPointer(raw).deallocate()
    }
}
