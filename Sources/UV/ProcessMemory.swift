import CLibUV

/// The process's heap as the system sees it.
public enum ProcessMemory {
    /// Gives pages the allocator keeps free back to the system (glibc keeps freed buffers mapped,
    /// so after a burst RSS would stay at its peak).
    public static func returnFreePages() {
        malloc_trim(0)
    }
}
