import Glibc
import UV

/// `soak`: watchers-mode presence under churn, paced routing and hostile clients at once.
///
/// `devices` idle devices, each watched by one watcher (500 subjects a watcher, under the server's
/// cap of 1000 per connection), close and reconnect at `fraction` of them per second, spread over
/// the second, while `pairs` paced pairs route (RouteScenario) and `hostile` clients misbehave from
/// their own source address (HostileCrowd). Goals, for the well-behaved side only: no routed
/// message lost or duplicated; every offline and online of a churned device seen exactly once, in
/// order, by its watcher; the server's RSS at the end within 10 % of the start (both read with the
/// same well-behaved devices connected: before the load, and after it stopped and drained).
public final class SoakScenario {
    public struct Options {
        public var devices = 15_000
        public var fraction = 0.02
        public var pairs = 1000
        public var rate = 20.0
        public var seconds = 60.0
        public var hostile = 50
        public var hostileSource = "127.0.0.200"
        /// Seconds to hold the well-behaved devices after the end reading for a second one (0: none),
        /// to tell memory the server keeps for a while (closed connections awaiting their heartbeat
        /// entry, allocator caches) from a leak.
        public var rssSettleSeconds = 0.0
        public init() {}
    }

    static let subjectsPerWatcher = 500
    static let idsPerQuery = 100

    let options: Options
    private var ledger: ChurnPresenceLedger
    private var deviceIDs: [String] = []
    private var current: [WSClient] = []
    private var reconnects: Fleet!
    /// Where each device is in its churn cycle, as the bench sees it.
    private enum Phase: UInt8 { case open, closing, opening }
    private var phase: [Phase] = []
    /// Devices whose close was sent (waiting for the server's end) and whose reconnect was started.
    private var closing: [Int] = []
    private var opening: [Int] = []
    private var nextToChurn = 0
    private var churned = 0
    private var skipped = 0
    private var droppedByServer = 0
    private var churnEnded = false
    private var fromPrefix: [UInt8] = []
    private var queryAnswers = 0
    private var queryErrors = 0
    private var rssPeak = 0

    public init(options: Options) {
        self.options = options
        ledger = ChurnPresenceLedger(devices: options.devices)
    }

    var watcherCount: Int { (options.devices + Self.subjectsPerWatcher - 1) / Self.subjectsPerWatcher }

    public func run(target: BenchTarget) throws -> Report {
        signal(SIGPIPE, SIG_IGN)   // hostile sockets are reset under our writes
        var report = Report(scenario: "soak")
        let limit = ProcessStats.raiseFileLimit()
        let sockets = options.devices + 2 * options.pairs + watcherCount + 2 * options.hostile + target.maxHandshakesInFlight
        guard sockets < limit - 100 else {
            report.add("error", "needs about \(sockets) sockets; the open-file limit is \(limit)")
            return report
        }
        let loop = try Loop()
        let rssIdle = target.serverPID.flatMap(ProcessStats.rssKiB)
        var steadyTarget = target
        steadyTarget.idPrefix += "p-"
        let steady = RouteScenario(pairs: options.pairs, window: Int.max / 2, rate: options.rate, seconds: options.seconds)
        let devices = try Fleet(loop: loop, target: target)
        let watchers = try Fleet(loop: loop, target: target)
        reconnects = try Fleet(loop: loop, target: target)
        reconnects.onText = { [unowned self] client, payload in ownOnline(client, payload) }
        if let problem = try connectDevices(devices, loop: loop, target: target)
            ?? steady.connect(loop: loop, target: steadyTarget)
            ?? connectWatchers(watchers, loop: loop, target: target) {
            report.add("error", problem)
            return report
        }
        runLoop(loop, seconds: 1) { false }   // connect-time presence and answers pass
        let rssStart = target.serverPID.flatMap(ProcessStats.rssKiB)

        // The measured window: churn, routing and hostile clients together; the hostile clients
        // and the churn stop at its end, then everything drains.
        let hostile = options.hostile > 0
            ? try HostileCrowd(loop: loop, target: target, source: options.hostileSource, count: options.hostile) : nil
        let begin = monotonicNanoseconds()
        let end = begin + UInt64(options.seconds * 1e9)
        let ticker = try Timer(loop: loop)
        var lastSample = begin
        ticker.start(afterMilliseconds: 5, repeatEvery: 5) { [unowned self] in
            let now = monotonicNanoseconds()
            if now < end {
                churn(until: Int(Double(now - begin) / 1e9 * Double(options.devices) * options.fraction))
                hostile?.tick(now: now)
            } else {
                churnEnded = true
                hostile?.stop()
            }
            advance()
            if now - lastSample >= 1_000_000_000 {
                lastSample = now
                findDrops()
                sampleRSS(target)
                if (now - begin) / 1_000_000_000 % 10 == 0 { fputsStderr(progress()) }
            }
        }
        try steady.start(loop: loop, target: steadyTarget)
        steady.finish(loop: loop, target: steadyTarget)
        hostile?.stop()
        runLoop(loop, seconds: 20) { closing.isEmpty && reconnects.settled }
        runLoop(loop, seconds: 10) { ledger.missing == 0 }
        runLoop(loop, seconds: 0.5) { false }   // late duplicates land here
        drainRoutes(steady, loop: loop)
        runLoop(loop, seconds: 2) { false }   // the server frees what the hostile clients held
        ticker.close()
        let rssEnd = target.serverPID.flatMap(ProcessStats.rssKiB)
        if options.rssSettleSeconds > 0 { runLoop(loop, seconds: options.rssSettleSeconds) { false } }
        let rssSettled = options.rssSettleSeconds > 0 ? target.serverPID.flatMap(ProcessStats.rssKiB) : nil

        addChurn(to: &report)
        report.add("watchers_dropped", watchers.ended)
        steady.addResults(to: &report, prefix: "route_")
        report.add("hostile", options.hostile)
        hostile?.add(to: &report)
        if target.serverPID != nil {
            // A dead server (even an unreaped one) has no VmRSS.
            report.add("server_alive", rssEnd == nil ? "no" : "yes")
            if let rssIdle { report.add("server_rss_idle_kib", rssIdle) }
            if let rssStart { report.add("server_rss_start_kib", rssStart) }
            report.add("server_rss_peak_kib", max(rssPeak, rssEnd ?? 0))
            if let rssStart, let rssEnd {
                report.add("server_rss_end_kib", rssEnd)
                report.add("server_rss_end_ratio", Double(rssEnd) / Double(max(rssStart, 1)), digits: 3)
            }
            if let rssSettled { report.add("server_rss_settled_kib", rssSettled) }
        }
        judge(&report)

        devices.abortAll()
        reconnects.abortAll()
        watchers.abortAll()
        steady.closeAll()
        runLoop(loop, seconds: 5) { devices.ended == devices.clients.count && reconnects.ended == reconnects.clients.count }
        try? loop.close()
        return report
    }

    // MARK: Setup

    private func connectDevices(_ fleet: Fleet, loop: Loop, target: BenchTarget) throws -> String? {
        deviceIDs = (0..<options.devices).map { "\(target.idPrefix)d-\($0)" }
        fromPrefix = Array("{\"from\":\"\(target.idPrefix)d-".utf8)
        fleet.open(deviceIDs)
        current = fleet.clients
        phase = Array(repeating: .open, count: options.devices)
        guard runLoop(loop, seconds: 120, progress: { "soak: \(fleet.opened)/\(self.options.devices) devices" }, until: { fleet.settled }),
              fleet.failed == 0 else {
            let reasons = fleet.failureReasons.sorted { $0.value > $1.value }.prefix(2).map {
                "\($0.value) \($0.key.split(whereSeparator: \.isNewline).first ?? "")"   // the status line only
            }
            return "only \(fleet.opened) of \(options.devices) devices connected (\(reasons.joined(separator: "; ")))"
        }
        return nil
    }

    /// Opens the watchers and has each ask about its 500 devices (100 ids a query).
    private func connectWatchers(_ fleet: Fleet, loop: Loop, target: BenchTarget) throws -> String? {
        fleet.onText = { [unowned self] client, payload in observe(client.index, payload) }
        let ids = (0..<watcherCount).map { "\(target.idPrefix)w-\($0)" }
        fleet.open(ids)
        guard runLoop(loop, seconds: 60, until: { fleet.settled }), fleet.failed == 0 else {
            return "only \(fleet.opened) of \(watcherCount) watchers connected"
        }
        var queries = 0
        for (watcher, id) in ids.enumerated() {
            let subjects = watcher * Self.subjectsPerWatcher..<min(options.devices, (watcher + 1) * Self.subjectsPerWatcher)
            for start in stride(from: subjects.lowerBound, to: subjects.upperBound, by: Self.idsPerQuery) {
                let list = (start..<min(start + Self.idsPerQuery, subjects.upperBound)).map { "\"\(deviceIDs[$0])\"" }
                let query = "{\"from\":\"\(id)\",\"to\":\"server\",\"msg\":\"queryStatus\",\"data\":[\(list.joined(separator: ","))]}"
                Array(query.utf8).withUnsafeBytes { fleet.clients[watcher].sendText($0) }
                queries += 1
            }
        }
        guard runLoop(loop, seconds: 30, until: { queryAnswers + queryErrors == queries }), queryErrors == 0 else {
            return "\(queryAnswers) of \(queries) queryStatus answered ok, \(queryErrors) refused"
        }
        return nil
    }

    // MARK: Churn

    /// Closes devices in turn until `due` have been churned; one that is not open is skipped.
    private func churn(until due: Int) {
        while churned < due {
            let device = nextToChurn
            nextToChurn = (nextToChurn + 1) % options.devices
            churned += 1
            guard phase[device] == .open, current[device].isOpen, let tcp = current[device].tcp else { skipped += 1; continue }
            Self.closeFrame(mask: UInt32.random(in: 1...UInt32.max)).withUnsafeBytes { _ = tcp.write($0) }
            phase[device] = .closing
            closing.append(device)
        }
    }

    /// A masked close frame (1000) sent without WSClient's FIN: the server answers and sends its
    /// FIN first, so TIME_WAIT stays on its side. 18,000 closes in TIME_WAIT here would slow every
    /// later bind() of this process (the kernel scans them for each source port it picks).
    static func closeFrame(mask: UInt32) -> [UInt8] {
        let key = withUnsafeBytes(of: mask) { Array($0) }
        return [0x88, 0x82] + key + [0x03 ^ key[0], 0xE8 ^ key[1]]
    }

    /// A close is complete once the server ended the socket: it has unregistered the device, so
    /// its watcher is owed an offline, and the device connects again.
    private func advance() {
        var stillClosing: [Int] = []
        for device in closing {
            guard current[device].tcp?.isClosing ?? true else { stillClosing.append(device); continue }
            ledger.owe(device, online: false)
            reopen(device)
        }
        closing = stillClosing
        opening.removeAll { device in
            if phase[device] == .opening && current[device].isOpen { opened(device) }
            return phase[device] != .opening
        }
    }

    private func reopen(_ device: Int) {
        reconnects.open([deviceIDs[device]])
        current[device] = reconnects.clients[reconnects.clients.count - 1]
        phase[device] = .opening
        opening.append(device)
    }

    /// The reconnect is registered: its watcher is owed an online.
    private func opened(_ device: Int) {
        phase[device] = .open
        ledger.owe(device, online: true)
    }

    /// A reconnecting device's own online proves its registration even if the connection ends
    /// before the next poll sees it open.
    private func ownOnline(_ client: WSClient, _ payload: UnsafeRawBufferPointer) {
        guard let (device, online) = presenceEvent(payload), online, device < options.devices,
              phase[device] == .opening, current[device] === client else { return }
        opened(device)
    }

    /// Devices the server closed without being asked (none should be): their watcher is owed the
    /// offline, and while the load runs they connect again like churned ones.
    private func findDrops() {
        for device in phase.indices where phase[device] == .open && !current[device].isOpen {
            droppedByServer += 1
            ledger.owe(device, online: false)
            if churnEnded { phase[device] = .closing } else { reopen(device) }
        }
    }

    /// A watcher's frame: a queryStatus answer, or a presence event of a watched device.
    private func observe(_ watcher: Int, _ payload: UnsafeRawBufferPointer) {
        if payload.starts(with: Array("{\"status\":".utf8)), payload.count > 10 {
            if payload[10] == UInt8(ascii: "0") { queryAnswers += 1 } else { queryErrors += 1 }
            return
        }
        guard let (device, online) = presenceEvent(payload) else { return }
        guard device < options.devices, watcher == device / Self.subjectsPerWatcher else { ledger.strays += 1; return }
        ledger.got(device, online: online)
    }

    /// `{"from":"<prefix>d-N","to":"all","msg":"online"|"offline"}` -> (N, online).
    private func presenceEvent(_ payload: UnsafeRawBufferPointer) -> (Int, Bool)? {
        guard payload.starts(with: fromPrefix), payload.count > fromPrefix.count + 9 else { return nil }
        var index = fromPrefix.count
        var device = 0
        while index < payload.count, payload[index] != UInt8(ascii: "\"") {
            device = device * 10 + Int(payload[index] &- 48)
            index += 1
        }
        return (device, payload[payload.count - 9] != UInt8(ascii: "o"))   // ...,"msg":"offline"}
    }

    // MARK: Results

    /// Waits (bounded) for routed messages still in flight after the window's own 3 s drain: a
    /// server that fell behind under hostile load delivers late, which is latency, not loss.
    private func drainRoutes(_ steady: RouteScenario, loop: Loop) {
        for _ in 0..<20 {
            var probe = Report(scenario: "probe")
            steady.addResults(to: &probe)
            if probe.value("lost") == "0" { return }
            runLoop(loop, seconds: 1) { false }
        }
    }

    private func sampleRSS(_ target: BenchTarget) {
        if let rss = target.serverPID.flatMap(ProcessStats.rssKiB) { rssPeak = max(rssPeak, rss) }
    }

    private func progress() -> String {
        "soak: \(reconnects.opened) reconnects, presence \(ledger.delivered)/\(ledger.owed), rss peak \(rssPeak) KiB"
    }

    private func addChurn(to report: inout Report) {
        report.add("devices", options.devices)
        report.add("watchers", watcherCount)
        report.add("reconnects_per_s", Double(options.devices) * options.fraction, digits: 0)
        report.add("reconnects", reconnects.opened)
        report.add("reconnect_failures", reconnects.failed)
        report.add("reconnects_pending", reconnects.clients.count - reconnects.opened - reconnects.failed)
        report.add("churn_skipped", skipped)
        report.add("devices_dropped_by_server", droppedByServer)
        report.add("closes_unfinished", closing.count)
        report.addLatency("reconnect_handshake", reconnects.handshakes)
        report.add("presence_owed", ledger.owed)
        report.add("presence_delivered", ledger.delivered)
        report.add("presence_missing", ledger.missing)
        report.add("presence_duplicated", ledger.duplicated)
        report.add("presence_order_breaks", ledger.orderBreaks)
        report.add("presence_strays", ledger.strays)
        for (reason, count) in reconnects.failureReasons.sorted(by: { $0.value > $1.value }).prefix(3) {
            report.warn("\(count) reconnects failed: \(reason)")
        }
    }

    /// The requirement's pass/fail lines (p99 has no threshold: it is compared across runs).
    private func judge(_ report: inout Report) {
        var failures: [String] = []
        for key in ["route_lost", "route_duplicated", "presence_missing", "presence_duplicated", "presence_order_breaks",
                    "devices_dropped_by_server", "watchers_dropped"]
        where report.value(key) != "0" {
            failures.append("\(key)=\(report.value(key) ?? "-")")
        }
        if report.value("server_alive") == "no" { failures.append("the server died during the run") }
        if let ratio = report.value("server_rss_end_ratio").flatMap(Double.init), abs(ratio - 1) > 0.10 {
            failures.append("server RSS end/start \(ratio)")
        }
        report.add("goals_met", failures.isEmpty ? "yes" : "no")
        for failure in failures { report.warn("goal missed: \(failure)") }
    }
}

/// Per churned device: the offlines and onlines its watcher is owed (counted when the bench saw
/// the close complete and the reconnect open) and those it got. A device's events must alternate
/// (offline, online, offline, ...): one equal to the previous one is an order break (a repeat, or
/// a pair seen the wrong way round). Totals are read once the run has drained.
struct ChurnPresenceLedger {
    private var owedOff: [Int32]
    private var owedOn: [Int32]
    private var gotOff: [Int32]
    private var gotOn: [Int32]
    private var lastOnline: [Bool]
    private(set) var orderBreaks = 0
    /// Events for an unknown device, or at a watcher that does not watch it.
    var strays = 0

    init(devices: Int) {
        owedOff = Array(repeating: 0, count: devices)
        owedOn = owedOff
        gotOff = owedOff
        gotOn = owedOff
        lastOnline = Array(repeating: true, count: devices)   // watching starts with every device online
    }

    mutating func owe(_ device: Int, online: Bool) {
        if online { owedOn[device] += 1 } else { owedOff[device] += 1 }
    }

    mutating func got(_ device: Int, online: Bool) {
        if lastOnline[device] == online { orderBreaks += 1 }
        lastOnline[device] = online
        if online { gotOn[device] += 1 } else { gotOff[device] += 1 }
    }

    var owed: Int { sum { Int($0.owedOff[$1] + $0.owedOn[$1]) } }
    var delivered: Int { sum { Int(min($0.owedOff[$1], $0.gotOff[$1]) + min($0.owedOn[$1], $0.gotOn[$1])) } }
    var missing: Int { sum { Int(max(0, $0.owedOff[$1] - $0.gotOff[$1]) + max(0, $0.owedOn[$1] - $0.gotOn[$1])) } }
    var duplicated: Int { sum { Int(max(0, $0.gotOff[$1] - $0.owedOff[$1]) + max(0, $0.gotOn[$1] - $0.owedOn[$1])) } }

    private func sum(_ value: (ChurnPresenceLedger, Int) -> Int) -> Int {
        owedOff.indices.reduce(0) { $0 + value(self, $1) }
    }
}
