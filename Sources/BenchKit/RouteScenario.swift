import Histogram
import UV

/// `route --pairs P --window W [--rate R]`: phone-i sends to box-i with at most W in flight
/// (or R per second per pair); reports delivered msg/s, one-way latency and any message lost,
/// duplicated or reordered. With `recipientPort` the boxes are on another node of a cluster.
public final class RouteScenario {
    let pairs: Int
    let window: Int
    let rate: Double?
    let seconds: Double
    /// 0: the bare envelope (about 80 bytes); N: padded to about N bytes (RoutePadding).
    let messageBytes: Int
    private var ledgers: [RouteLedger]
    private var prefixes: [[UInt8]]
    private var latency = newLatencyHistogram()
    private var fleet: Fleet!
    private var sending = false
    private var deadline: UInt64 = 0
    private var receivedInWindow = 0
    private var errors = 0
    private var errorsByStatus: [Int: Int] = [:]
    private var nextDue: [UInt64]

    public init(pairs: Int, window: Int, rate: Double?, seconds: Double, messageBytes: Int = 0) {
        self.pairs = pairs
        self.window = max(1, window)
        self.rate = rate
        self.seconds = seconds
        self.messageBytes = messageBytes
        ledgers = Array(repeating: RouteLedger(), count: pairs)
        prefixes = []
        nextDue = Array(repeating: 0, count: pairs)
    }

    private var pacer: Timer?
    private var serverCPUBefore: Double?
    private var serverCPUAfter: Double?
    private var extraCPUBefore: [Double?] = []
    private var extraCPUAfter: [Double?] = []
    private var extraNames: [String] = []
    private var benchCPUBefore = 0.0
    private var benchCPU = 0.0

    public func run(target: BenchTarget) throws -> Report {
        _ = ProcessStats.raiseFileLimit()
        let loop = try Loop()
        var report = Report(scenario: "route")
        if let problem = try connect(loop: loop, target: target) {
            report.add("error", problem)
            return report
        }
        try start(loop: loop, target: target)
        finish(loop: loop, target: target)
        addResults(to: &report)
        fleet.abortAll()
        runLoop(loop, seconds: 5) { fleet.ended == fleet.clients.count }
        try? loop.close()
        return report
    }

    /// Opens the boxes, then the phones; returns a problem if not all of them connected.
    func connect(loop: Loop, target: BenchTarget) throws -> String? {
        fleet = try Fleet(loop: loop, target: target)
        let boxes = (0..<pairs).map { "\(target.idPrefix)box-\($0)" }
        let phones = (0..<pairs).map { "\(target.idPrefix)phone-\($0)" }
        prefixes = (0..<pairs).map { pair in
            let head = "{\"from\":\"\(phones[pair])\",\"to\":\"\(boxes[pair])\","
            let padding = RoutePadding.member(totalBytes: messageBytes, fixedBytes: head.utf8.count + 7, seed: pair)
            return Array((head + padding + "\"msg\":\"").utf8)
        }
        fleet.onText = { [unowned self] client, payload in received(client.index, payload) }
        fleet.open(boxes, port: target.recipientPort)
        fleet.open(phones)
        guard runLoop(loop, seconds: 60, until: { fleet.settled }), fleet.failed == 0 else {
            return "only \(fleet.opened) of \(2 * pairs) clients connected"
        }
        runLoop(loop, seconds: 0.3) { false }   // let connect-time presence frames pass
        return nil
    }

    /// Starts the measured window: a full window per pair, or the pacer.
    func start(loop: Loop, target: BenchTarget) throws {
        serverCPUBefore = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        extraNames = target.extraPIDs.map(\.name)
        extraCPUBefore = target.extraPIDs.map { ProcessStats.cpuSeconds(pid: $0.pid) }
        benchCPUBefore = ProcessStats.ownCPUSeconds()
        let begin = monotonicNanoseconds()
        deadline = begin + UInt64(seconds * 1e9)
        sending = true
        if let rate {
            let period = UInt64(1e9 / rate)
            for pair in 0..<pairs { nextDue[pair] = begin + period * UInt64(pair) / UInt64(pairs) }
            pacer = try Timer(loop: loop)
            pacer?.start(afterMilliseconds: 1, repeatEvery: 1) { [unowned self] in pace(period: period) }
        } else {
            for pair in 0..<pairs { for _ in 0..<window { send(pair) } }
        }
    }

    /// Runs to the end of the window, stops sending and waits (bounded) for what is in flight.
    func finish(loop: Loop, target: BenchTarget) {
        runLoop(loop, seconds: seconds + 1, progress: { [unowned self] in "route: \(receivedInWindow) delivered" }) {
            monotonicNanoseconds() >= deadline
        }
        sending = false
        pacer?.close()
        serverCPUAfter = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        extraCPUAfter = target.extraPIDs.map { ProcessStats.cpuSeconds(pid: $0.pid) }
        benchCPU = ProcessStats.ownCPUSeconds() - benchCPUBefore
        runLoop(loop, seconds: 3) { ledgers.allSatisfy { $0.inFlight == 0 } }
    }

    func addResults(to report: inout Report, prefix: String = "") {
        report.add(prefix + "pairs", pairs)
        report.add(prefix + "window", rate == nil ? String(window) : "paced")
        if let rate { report.add(prefix + "rate_per_pair", rate, digits: 0) }
        report.add(prefix + "seconds", seconds, digits: 1)
        report.add(prefix + "msgs_per_s", Double(receivedInWindow) / seconds, digits: 0)
        report.addLatency(prefix + "latency", latency)
        report.add(prefix + "sent", ledgers.reduce(0) { $0 + $1.sent })
        report.add(prefix + "lost", ledgers.reduce(0) { $0 + $1.lost })
        report.add(prefix + "duplicated", ledgers.reduce(0) { $0 + $1.duplicated })
        report.add(prefix + "reordered", ledgers.reduce(0) { $0 + $1.reordered })
        report.add(prefix + "error_replies", errors)
        for (status, count) in errorsByStatus.sorted(by: { $0.key < $1.key }) {
            report.add(prefix + "error_replies_status_\(status)", count)
        }
        if let before = serverCPUBefore, let after = serverCPUAfter {
            report.add("server_cpu", (after - before) / seconds, digits: 2)
            report.add("server_cpu_us_per_msg", (after - before) * 1e6 / Double(max(receivedInWindow, 1)), digits: 3)
        }
        for (index, name) in extraNames.enumerated() {
            guard let before = extraCPUBefore[index], let after = extraCPUAfter[index] else { continue }
            report.add("\(name)_cpu", (after - before) / seconds, digits: 2)
            report.add("\(name)_cpu_us_per_msg", (after - before) * 1e6 / Double(max(receivedInWindow, 1)), digits: 3)
        }
        report.addBenchCPU(seconds: benchCPU, over: seconds)
    }

    func closeAll() { fleet.abortAll() }
    var clientsEnded: Bool { fleet.ended == fleet.clients.count }

    private func pace(period: UInt64) {
        guard sending else { return }
        let now = monotonicNanoseconds()
        for pair in 0..<pairs {
            while nextDue[pair] <= now && nextDue[pair] < deadline {
                send(pair)
                nextDue[pair] += period
            }
        }
    }

    /// `{"from":"phone-i","to":"box-i","msg":"SEQ:SENDNS"}`, built in place without a String.
    private func send(_ pair: Int) {
        let sequence = ledgers[pair].nextSequence()
        let client = fleet.clients[pairs + pair]
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: prefixes[pair].count + 48) { buffer in
            var length = 0
            for byte in prefixes[pair] { buffer[length] = byte; length += 1 }
            length += writeDecimal(UInt64(sequence), into: buffer, at: length)
            buffer[length] = UInt8(ascii: ":"); length += 1
            length += writeDecimal(monotonicNanoseconds(), into: buffer, at: length)
            buffer[length] = UInt8(ascii: "\""); buffer[length + 1] = UInt8(ascii: "}"); length += 2
            client.sendText(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[0..<length])))
        }
    }

    private func received(_ index: Int, _ payload: UnsafeRawBufferPointer) {
        guard index < pairs else {
            // A phone got something: a status reply is an error; presence frames are ignored.
            if payload.starts(with: Array("{\"status\":".utf8)) {
                errors += 1
                let digit = payload.count > 10 ? Int(payload[10]) - 48 : -1
                errorsByStatus[(0...9).contains(digit) ? digit : -1, default: 0] += 1
            }
            return
        }
        guard let (sequence, sentAt) = parseTail(payload) else { return }
        let now = monotonicNanoseconds()
        ledgers[index].record(sequence)
        latency.record(now > sentAt ? now - sentAt : 0)
        if now <= deadline { receivedInWindow += 1 }
        if sending && rate == nil && ledgers[index].inFlight < window { send(index) }
    }

    /// Reads `SEQ:SENDNS"}` from the end of the payload; nil for anything else (presence frames).
    private func parseTail(_ payload: UnsafeRawBufferPointer) -> (Int, UInt64)? {
        let count = payload.count
        guard count > 4, payload[count - 1] == UInt8(ascii: "}"), payload[count - 2] == UInt8(ascii: "\"") else { return nil }
        var index = count - 3
        func number(until stop: UInt8) -> UInt64? {
            var value: UInt64 = 0, scale: UInt64 = 1, digits = 0
            while index >= 0, payload[index] != stop {
                let digit = payload[index] &- 48
                guard digit < 10, digits < 20 else { return nil }
                value &+= UInt64(digit) &* scale
                scale &*= 10
                digits += 1
                index -= 1
            }
            guard index >= 0, digits > 0 else { return nil }
            index -= 1
            return value
        }
        guard let sentAt = number(until: UInt8(ascii: ":")), let sequence = number(until: UInt8(ascii: "\"")) else { return nil }
        return (Int(sequence), sentAt)
    }
}

func writeDecimal(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
    var digits = 0
    var rest = value
    repeat { digits += 1; rest /= 10 } while rest > 0
    rest = value
    for position in stride(from: offset + digits - 1, through: offset, by: -1) {
        buffer[position] = UInt8(48 + rest % 10)
        rest /= 10
    }
    return digits
}
