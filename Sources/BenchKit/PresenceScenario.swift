import UV

/// `presence --conns N --devices K --cycles C`: N watchers stay connected while K devices come and
/// go C times; every watcher must see every online and offline exactly once.
public final class PresenceScenario {
    let watchers: Int
    let devices: Int
    let cycles: Int
    let phaseTimeout: Double
    private var ledger: PresenceLedger
    private var seenInPhase = 0
    private var devicePrefix: [UInt8] = []

    public init(watchers: Int, devices: Int, cycles: Int, phaseTimeout: Double = 60) {
        self.phaseTimeout = phaseTimeout
        self.watchers = watchers
        self.devices = devices
        self.cycles = cycles
        ledger = PresenceLedger(watchers: watchers, events: cycles * devices * 2)
    }

    public func run(target: BenchTarget) throws -> Report {
        _ = ProcessStats.raiseFileLimit()
        let loop = try Loop()
        let watcherFleet = try Fleet(loop: loop, target: target)
        devicePrefix = Array("\(target.idPrefix)d-".utf8)
        watcherFleet.onText = { [unowned self] client, payload in observe(client.index, payload) }
        watcherFleet.open((0..<watchers).map { "\(target.idPrefix)w-\($0)" })
        guard runLoop(loop, seconds: 120, progress: { "presence: \(watcherFleet.opened)/\(self.watchers) watchers" },
                      until: { watcherFleet.settled }), watcherFleet.failed == 0 else {
            var report = Report(scenario: "presence")
            report.add("error", "only \(watcherFleet.opened) of \(watchers) watchers connected")
            return report
        }
        runLoop(loop, seconds: 1) { false }   // the watchers' own online storm passes

        let benchCPUBefore = ProcessStats.ownCPUSeconds()
        let serverCPUBefore = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        var phaseTimes: [Double] = []
        var complete = true
        for cycle in 0..<cycles {
            let fleet = try Fleet(loop: loop, target: target)
            seenInPhase = 0
            var start = monotonicNanoseconds()
            fleet.open((0..<devices).map { "\(target.idPrefix)d-\(cycle)-\($0)" })
            complete = runLoop(loop, seconds: phaseTimeout, progress: progress) { seenInPhase == watchers * devices } && complete
            phaseTimes.append(Double(monotonicNanoseconds() - start) / 1e9)
            seenInPhase = 0
            start = monotonicNanoseconds()
            fleet.closeAll()
            complete = runLoop(loop, seconds: phaseTimeout, progress: progress) { seenInPhase == watchers * devices } && complete
            phaseTimes.append(Double(monotonicNanoseconds() - start) / 1e9)
            runLoop(loop, seconds: 5) { fleet.ended == fleet.clients.count }
        }
        runLoop(loop, seconds: 0.5) { false }   // late duplicates would land here
        let busy = phaseTimes.reduce(0, +)
        let serverCPUAfter = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        let frames = watchers * devices * 2 * cycles

        var report = Report(scenario: "presence")
        report.add("watchers", watchers)
        report.add("devices", devices)
        report.add("cycles", cycles)
        report.add("fanout_frames_per_s", Double(frames) / max(busy, 1e-9), digits: 0)
        report.add("phase_p50_ms", phaseTimes.sorted()[phaseTimes.count / 2] * 1000, digits: 1)
        report.add("phase_max_ms", (phaseTimes.max() ?? 0) * 1000, digits: 1)
        report.add("missing", ledger.missing(events: 0..<ledger.events))
        report.add("duplicated", ledger.duplicated(events: 0..<ledger.events))
        if let before = serverCPUBefore, let after = serverCPUAfter {
            report.add("server_cpu_us_per_frame", (after - before) * 1e6 / Double(frames), digits: 3)
        }
        report.addBenchCPU(seconds: ProcessStats.ownCPUSeconds() - benchCPUBefore, over: busy)
        if !complete { report.warn("some phases timed out before every watcher saw every event") }
        watcherFleet.abortAll()
        runLoop(loop, seconds: 5) { watcherFleet.ended == watcherFleet.clients.count }
        try? loop.close()
        return report
    }

    private func progress() -> String { "presence: \(seenInPhase)/\(watchers * devices) deliveries this phase" }

    /// `{"from":"<prefix>d-C-J","to":"all","msg":"online"|"offline"}`: locate `from` and the state.
    private func observe(_ watcher: Int, _ payload: UnsafeRawBufferPointer) {
        guard let from = find(payload, Array("\"from\":\"".utf8)) else { return }
        var index = from
        for byte in devicePrefix {
            guard index < payload.count, payload[index] == byte else { return }
            index += 1
        }
        var cycle = 0, device = 0
        while index < payload.count, payload[index] != UInt8(ascii: "-") { cycle = cycle * 10 + Int(payload[index] &- 48); index += 1 }
        index += 1
        while index < payload.count, payload[index] != UInt8(ascii: "\"") { device = device * 10 + Int(payload[index] &- 48); index += 1 }
        guard cycle < cycles, device < devices else { return }
        let offline = find(payload, Array("\"offline\"".utf8)) != nil
        if ledger.record(watcher: watcher, event: (cycle * devices + device) * 2 + (offline ? 1 : 0)) { seenInPhase += 1 }
    }

    /// Index just past the first occurrence of `needle`, or nil.
    private func find(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        outer: for start in 0...(haystack.count - needle.count) {
            for offset in 0..<needle.count where haystack[start + offset] != needle[offset] { continue outer }
            return start + needle.count
        }
        return nil
    }
}
