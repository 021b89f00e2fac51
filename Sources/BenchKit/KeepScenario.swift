import Histogram
import UV

/// `keep --pairs P --window W --recipients R`: phone-i sends messages with a ttl to devices that
/// never connect (R of them per phone, in turn, so no recipient reaches its bound), at most W
/// awaiting their status 8; reports kept msg/s, the time from send to status 8 (which the server
/// sends only after the tick's commit) and any refusal. Compare with `route` at the same window.
public final class KeepScenario {
    let phones: Int
    let window: Int
    let recipients: Int
    let seconds: Double
    let ttl: Int
    private var fleet: Fleet!
    private var prefixes: [[UInt8]] = []
    private var sentAt: [[UInt64]]
    private var answered: [Int]
    private var latency = newLatencyHistogram()
    private var sending = false
    private var deadline: UInt64 = 0
    private var keptInWindow = 0
    private var kept = 0
    private var refused = 0
    private var otherReplies = 0

    public init(phones: Int, window: Int, recipients: Int, seconds: Double, ttl: Int) {
        self.phones = phones
        self.window = max(1, window)
        self.recipients = max(1, recipients)
        self.seconds = seconds
        self.ttl = ttl
        sentAt = Array(repeating: [], count: phones)
        answered = Array(repeating: 0, count: phones)
    }

    public func run(target: BenchTarget) throws -> Report {
        _ = ProcessStats.raiseFileLimit()
        let loop = try Loop()
        var report = Report(scenario: "keep")
        fleet = try Fleet(loop: loop, target: target)
        let ids = (0..<phones).map { "\(target.idPrefix)kphone-\($0)" }
        prefixes = ids.map { Array("{\"from\":\"\($0)\",\"to\":\"\(target.idPrefix)kbox-\($0.split(separator: "-").last!)-".utf8) }
        fleet.onText = { [unowned self] client, payload in received(client.index, payload) }
        fleet.open(ids)
        guard runLoop(loop, seconds: 60, until: { fleet.settled }), fleet.failed == 0 else {
            report.add("error", "only \(fleet.opened) of \(phones) clients connected")
            return report
        }
        runLoop(loop, seconds: 0.3) { false }
        let serverCPUBefore = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        let benchCPUBefore = ProcessStats.ownCPUSeconds()
        deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        sending = true
        for phone in 0..<phones { for _ in 0..<window { send(phone) } }
        runLoop(loop, seconds: seconds + 1, progress: { [unowned self] in "keep: \(keptInWindow) kept" }) { monotonicNanoseconds() >= deadline }
        sending = false
        let serverCPUAfter = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        let benchCPU = ProcessStats.ownCPUSeconds() - benchCPUBefore
        runLoop(loop, seconds: 5) { (0..<phones).allSatisfy { answered[$0] == sentAt[$0].count } }

        let sent = sentAt.reduce(0) { $0 + $1.count }
        report.add("pairs", phones)
        report.add("window", window)
        report.add("recipients", phones * recipients)
        report.add("seconds", seconds, digits: 1)
        report.add("msgs_per_s", Double(keptInWindow) / seconds, digits: 0)
        report.addLatency("latency", latency)
        report.add("sent", sent)
        report.add("kept", kept)
        report.add("refused", refused)
        report.add("other_replies", otherReplies)
        report.add("unanswered", sent - kept - refused - otherReplies)
        if let before = serverCPUBefore, let after = serverCPUAfter {
            report.add("server_cpu", (after - before) / seconds, digits: 2)
            report.add("server_cpu_us_per_msg", (after - before) * 1e6 / Double(max(keptInWindow, 1)), digits: 3)
        }
        if let rss = target.serverPID.flatMap(ProcessStats.rssKiB) { report.add("server_rss_end_kib", rss) }
        report.addBenchCPU(seconds: benchCPU, over: seconds)
        if refused > 0 { report.warn("\(refused) messages refused (status 5): raise the server's --offline-max-* for this row") }
        fleet.abortAll()
        runLoop(loop, seconds: 5) { fleet.ended == fleet.clients.count }
        try? loop.close()
        return report
    }

    /// `{"from":"kphone-i","to":"kbox-i-R","msg":"kept","id":SEQ,"ttl":TTL}`, built in place.
    private func send(_ phone: Int) {
        let sequence = sentAt[phone].count
        sentAt[phone].append(monotonicNanoseconds())
        let suffix = Array("\",\"msg\":\"kept\",\"id\":\(sequence),\"ttl\":\(ttl)}".utf8)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: prefixes[phone].count + suffix.count + 20) { buffer in
            var length = 0
            for byte in prefixes[phone] { buffer[length] = byte; length += 1 }
            length += writeDecimal(UInt64(sequence % recipients), into: buffer, at: length)
            for byte in suffix { buffer[length] = byte; length += 1 }
            fleet.clients[phone].sendText(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[0..<length])))
        }
    }

    private func received(_ phone: Int, _ payload: UnsafeRawBufferPointer) {
        guard let status = StatusReply.status(payload) else { return }
        answered[phone] += 1
        switch status {
        case 8:
            kept += 1
            let now = monotonicNanoseconds()
            if let id = StatusReply.id(payload), id < sentAt[phone].count { latency.record(now - sentAt[phone][id]) }
            if now <= deadline { keptInWindow += 1 }
        case 5: refused += 1
        default: otherReplies += 1
        }
        if sending && sentAt[phone].count - answered[phone] < window { send(phone) }
    }
}
