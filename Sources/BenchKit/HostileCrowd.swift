import UV

/// One kind of hostile client: ticked every few milliseconds by the soak, stopped at the end of
/// the measured window. Nothing it sees counts against the server; its tally is only reported.
protocol HostileKind: AnyObject {
    var tally: HostileTally { get }
    func tick(now: UInt64)
    /// Drops every socket at once (resets, so the server frees what it held for them).
    func stop()
}

/// What one kind of hostile client did. Refusals (429, 503) are the server defending itself.
struct HostileTally {
    let kind: String
    var clients = 0
    /// Connections established (TCP for raw kinds, opened WebSockets otherwise).
    var connections = 0
    /// HTTP status -> answers refusing a request or handshake.
    var refusals: [Int: Int] = [:]
    /// Connections the server closed or reset.
    var endedByServer = 0
    var bytesRead = 0
    /// Kind-specific counts, in report order.
    var extra: [(String, Int)] = []

    mutating func count(_ key: String, _ amount: Int = 1) {
        if let index = extra.firstIndex(where: { $0.0 == key }) { extra[index].1 += amount } else { extra.append((key, amount)) }
    }

    func add(to report: inout Report) {
        let prefix = "hostile_\(kind)_"
        report.add(prefix + "clients", clients)
        report.add(prefix + "connections", connections)
        report.add(prefix + "ended_by_server", endedByServer)
        report.add(prefix + "bytes_read", bytesRead)
        for (status, count) in refusals.sorted(by: { $0.key < $1.key }) { report.add(prefix + "refused_\(status)", count) }
        for (key, value) in extra { report.add(prefix + key, value) }
    }
}

/// The soak's hostile clients, split evenly over non-readers, pipelined PNG requests and
/// connect/close loops, all from one source address (which the server may limit).
final class HostileCrowd {
    private let kinds: [any HostileKind]
    private var stopped = false

    init(loop: Loop, target: BenchTarget, source: String, count: Int) throws {
        let share = { (index: Int) in count / 3 + (index < count % 3 ? 1 : 0) }
        kinds = [
            try HostileNonReaders(loop: loop, target: target, source: source, count: share(0)),
            try HostilePNGClients(loop: loop, target: target, source: source, count: share(1)),
            try HostileConnectLoops(loop: loop, target: target, source: source, count: share(2)),
        ]
    }

    func tick(now: UInt64) {
        guard !stopped else { return }
        for kind in kinds { kind.tick(now: now) }
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        for kind in kinds { kind.stop() }
    }

    func add(to report: inout Report) {
        var refusals: [Int: Int] = [:]
        for kind in kinds {
            kind.tally.add(to: &report)
            refusals.merge(kind.tally.refusals, uniquingKeysWith: +)
        }
        report.add("hostile_refused_total", refusals.values.reduce(0, +))
    }
}

/// The status of a refused handshake from WSClient's reason ("handshake refused: HTTP/1.1 429 ...").
func refusedStatus(_ reason: String) -> Int? {
    guard let range = reason.firstRange(of: "HTTP/1.1 ") else { return nil }
    return Int(reason[range.upperBound...].prefix(3))
}

/// Index just past the first `needle` in `haystack`, or nil.
func indexAfter(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
    guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
    outer: for position in start...(haystack.count - needle.count) {
        for offset in 0..<needle.count where haystack[position + offset] != needle[offset] { continue outer }
        return position + needle.count
    }
    return nil
}
