/// Rendered pairing codes by URL, format and scale, so a repeated request costs a lookup instead of
/// milliseconds of encoding and drawing. Bounded in entries and bytes; the oldest entry goes first.
final class QRCache {
    let maxEntries: Int
    let maxBytes: Int
    private var entries: [String: [UInt8]] = [:]
    private var order: [String] = []
    private var orderStart = 0
    private var bytes = 0

    /// Larger bodies (PNGs drawn at big scales) are not kept: rare for pages, and what a client
    /// asking for many different ones would fill the cache with.
    let maxEntryBytes = 4096

    init(maxEntries: Int, maxBytes: Int = 1 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    /// The cached body for `key`, or `render()`'s, kept for next time.
    func body(for key: String, hit: () -> Void, render: () -> [UInt8]) -> [UInt8] {
        if let cached = entries[key] {
            hit()
            return cached
        }
        let body = render()
        guard maxEntries > 0, body.count <= maxEntryBytes else { return body }
        while entries.count >= maxEntries || bytes + body.count > maxBytes { evictOldest() }
        entries[key] = body
        order.append(key)
        bytes += body.count
        return body
    }

    var count: Int { entries.count }

    private func evictOldest() {
        let key = order[orderStart]
        orderStart += 1
        if let body = entries.removeValue(forKey: key) { bytes -= body.count }
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
