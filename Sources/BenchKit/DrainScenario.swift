import Histogram
import UV

/// `drain --recipients N --per-recipient K`: senders keep K messages for each of N devices that
/// are offline (the server's memory is read before and after: what a kept message costs), then
/// all N connect at once and each must get its K messages, in order, each once. Reports the time
/// from a device's connect to its last kept message (p50, p99, max) and any loss.
public final class DrainScenario {
    let recipients: Int
    let perRecipient: Int
    let senders: Int
    let window: Int
    let ttl: Int
    private var fill: Fleet!
    private var boxes: Fleet!
    private var boxIDs: [String] = []
    /// Per sender: the next (box, sequence) to keep, and how many are in flight.
    private var nextKeep: [Int]
    private var inFlight: [Int]
    private var kept = 0
    private var refused = 0
    private var payloadBytes = 0
    /// Per box: how many of its kept messages arrived, and whether any came twice or out of order.
    private var got: [Int] = []
    private var duplicated = 0
    private var reordered = 0
    private var lastAt: [UInt64] = []
    private var drainLatency = newLatencyHistogram()

    public init(recipients: Int, perRecipient: Int, senders: Int, window: Int, ttl: Int) {
        self.recipients = recipients
        self.perRecipient = perRecipient
        self.senders = max(1, min(senders, recipients))
        self.window = max(1, window)
        self.ttl = ttl
        nextKeep = Array(repeating: 0, count: self.senders)
        inFlight = Array(repeating: 0, count: self.senders)
    }

    public func run(target: BenchTarget) throws -> Report {
        _ = ProcessStats.raiseFileLimit()
        let loop = try Loop()
        var report = Report(scenario: "drain")
        boxIDs = (0..<recipients).map { "\(target.idPrefix)dbox-\($0)" }

        // Fill: sender j keeps K messages for each box b with b % senders == j.
        fill = try Fleet(loop: loop, target: target)
        fill.onText = { [unowned self] client, payload in filled(client.index, payload) }
        fill.open((0..<senders).map { "\(target.idPrefix)dphone-\($0)" })
        guard runLoop(loop, seconds: 60, until: { fill.settled }), fill.failed == 0 else {
            report.add("error", "only \(fill.opened) of \(senders) senders connected")
            return report
        }
        runLoop(loop, seconds: 0.5) { false }
        let rssBefore = target.serverPID.flatMap(ProcessStats.rssKiB)
        let anonBefore = target.serverPID.flatMap(ProcessStats.anonKiB)
        let total = recipients * perRecipient
        let fillStart = monotonicNanoseconds()
        for sender in 0..<senders { for _ in 0..<window { keepNext(sender) } }
        runLoop(loop, seconds: 300, progress: { [unowned self] in "drain: \(kept)/\(total) kept" }) { kept + refused == total }
        let fillSeconds = Double(monotonicNanoseconds() - fillStart) / 1e9
        runLoop(loop, seconds: 1.5) { false }   // the server's own settling (a sweep, its allocator)
        let rssAfter = target.serverPID.flatMap(ProcessStats.rssKiB)
        let anonAfter = target.serverPID.flatMap(ProcessStats.anonKiB)

        // Drain: every box connects at once (handshakes bounded by --handshakes) and takes its messages.
        got = Array(repeating: 0, count: recipients)
        lastAt = Array(repeating: 0, count: recipients)
        boxes = try Fleet(loop: loop, target: target)
        boxes.onText = { [unowned self] client, payload in delivered(client.index, payload) }
        let serverCPUBefore = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        let drainStart = monotonicNanoseconds()
        boxes.open(boxIDs)
        runLoop(loop, seconds: 120, progress: { [unowned self] in "drain: \(boxes.opened) connected, \(got.reduce(0, +)) delivered" }) {
            boxes.settled && got.allSatisfy { $0 >= perRecipient }
        }
        let connectSpread = Double(boxes.lastOpenedAt - drainStart) / 1e9
        let drainSeconds = Double((lastAt.max() ?? drainStart) - drainStart) / 1e9
        let serverCPUAfter = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        runLoop(loop, seconds: 1) { false }   // anything more (a duplicate) would show here

        report.add("recipients", recipients)
        report.add("per_recipient", perRecipient)
        report.add("kept", kept)
        report.add("refused", refused)
        report.add("fill_s", fillSeconds, digits: 2)
        report.add("fill_kept_per_s", Double(kept) / max(fillSeconds, 1e-9), digits: 0)
        if let rssBefore, let rssAfter, kept > 0 {
            let perMessage = Double(rssAfter - rssBefore) * 1024 / Double(kept)
            let payload = Double(payloadBytes) / Double(kept)
            report.add("payload_bytes", payload, digits: 1)
            report.add("server_bytes_per_kept", perMessage, digits: 1)
            report.add("server_overhead_bytes_per_kept", perMessage - payload, digits: 1)
        }
        if let anonBefore, let anonAfter, kept > 0 {
            report.add("server_anon_bytes_per_kept", Double(anonAfter - anonBefore) * 1024 / Double(kept), digits: 1)
        }
        report.add("connected", boxes.opened)
        report.add("connect_spread_s", connectSpread, digits: 2)
        report.add("drain_s", drainSeconds, digits: 2)
        report.addLatency("connect_to_last", drainLatency)
        let arrived = got.reduce(0) { $0 + min($1, perRecipient) }
        report.add("delivered", arrived)
        report.add("lost", kept - arrived)
        report.add("duplicated", duplicated)
        report.add("reordered", reordered)
        if let before = serverCPUBefore, let after = serverCPUAfter {
            report.add("server_cpu_us_per_delivered", (after - before) * 1e6 / Double(max(arrived, 1)), digits: 2)
        }
        if refused > 0 { report.warn("\(refused) messages refused (status 5): raise the server's --offline-max-*") }
        for (reason, count) in boxes.failureReasons.sorted(by: { $0.value > $1.value }).prefix(3) {
            report.warn("\(count) failed: \(reason)")
        }
        fill.abortAll()
        boxes.abortAll()
        runLoop(loop, seconds: 5) { fill.ended == fill.clients.count && boxes.ended == boxes.clients.count }
        try? loop.close()
        return report
    }

    /// `{"from":"dphone-j","to":"dbox-B","msg":"SEQ","id":N,"ttl":T}` for the sender's next (box, SEQ).
    private func keepNext(_ sender: Int) {
        let boxesOfSender = (recipients - sender + senders - 1) / senders
        let index = nextKeep[sender]
        guard index < boxesOfSender * perRecipient else { return }
        nextKeep[sender] += 1
        inFlight[sender] += 1
        // Sender j goes through its boxes round by round: every box gets message 0, then 1, ...
        let box = sender + (index % boxesOfSender) * senders
        let sequence = index / boxesOfSender
        let text = "{\"from\":\"\(fill.ids[sender])\",\"to\":\"\(boxIDs[box])\",\"msg\":\"\(sequence)\",\"id\":\(index),\"ttl\":\(ttl)}"
        payloadBytes += text.utf8.count
        var bytes = text
        bytes.withUTF8 { fill.clients[sender].sendText(UnsafeRawBufferPointer($0)) }
    }

    /// Status 8 or 5 for a message being kept (the delivered receipts of the drain come later: not counted here).
    private func filled(_ sender: Int, _ payload: UnsafeRawBufferPointer) {
        guard let status = StatusReply.status(payload), status == 8 || status == 5 else { return }
        inFlight[sender] -= 1
        if status == 8 { kept += 1 } else { refused += 1 }
        keepNext(sender)
    }

    /// A box's message: `..."msg":"SEQ",...`; the K-th one ends its wait.
    private func delivered(_ box: Int, _ payload: UnsafeRawBufferPointer) {
        guard StatusReply.status(payload) == nil, let sequence = Self.sequence(payload) else { return }
        if sequence < got[box] { duplicated += 1; return }
        if sequence > got[box] { reordered += 1 }
        got[box] = sequence + 1
        if got[box] == perRecipient {
            let now = monotonicNanoseconds()
            lastAt[box] = now
            drainLatency.record(now - boxes.clients[box].handshakeStarted)
        }
    }

    private static let msgKey = Array("\"msg\":\"".utf8)

    private static func sequence(_ payload: UnsafeRawBufferPointer) -> Int? {
        guard payload.count > msgKey.count else { return nil }
        for start in 0...(payload.count - msgKey.count) where payload[start] == msgKey[0] {
            guard (0..<msgKey.count).allSatisfy({ payload[start + $0] == msgKey[$0] }) else { continue }
            var index = start + msgKey.count
            var value = 0
            while index < payload.count, payload[index] >= 48, payload[index] <= 57 {
                value = value * 10 + Int(payload[index] - 48)
                index += 1
            }
            return index > start + msgKey.count ? value : nil
        }
        return nil
    }
}
