import Glibc
import UV

/// `connect --conns N`: open N devices with bounded handshakes in flight and hold them; report
/// the rate, handshake latency and the server's RSS growth per connection.
///
/// A warm-up fleet (a tenth of N, at most 500) connects and leaves first, so the server's code
/// pages and one-time tables are in place before the "before" reading: the growth is what the
/// connections themselves cost. Anonymous memory (heap) is reported beside the whole RSS.
public enum ConnectScenario {
    public static func run(target: BenchTarget, connections: Int, holdSeconds: Double, timeoutSeconds: Double,
                           stopFile: String? = nil, warmUp warmUpCount: Int? = nil) throws -> Report {
        _ = ProcessStats.raiseFileLimit()
        let loop = try Loop()
        let warmUps = warmUpCount ?? min(500, connections / 10)
        try warmUp(loop: loop, target: target, connections: warmUps, timeoutSeconds: timeoutSeconds)
        let fleet = try Fleet(loop: loop, target: target)
        let rssBefore = target.serverPID.flatMap(ProcessStats.rssKiB)
        let anonBefore = target.serverPID.flatMap(ProcessStats.anonKiB)
        let cpuBefore = ProcessStats.ownCPUSeconds()
        let serverCPUBefore = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        let start = monotonicNanoseconds()
        fleet.open((0..<connections).map { "\(target.idPrefix)c-\($0)" })
        runLoop(loop, seconds: timeoutSeconds, progress: { "connect: \(fleet.opened)/\(connections) open, \(fleet.failed) failed" }) { fleet.settled }
        let elapsed = Double((fleet.lastOpenedAt > start ? fleet.lastOpenedAt : monotonicNanoseconds()) - start) / 1e9
        let benchCPU = ProcessStats.ownCPUSeconds() - cpuBefore
        let serverCPUAfter = target.serverPID.flatMap(ProcessStats.cpuSeconds)
        // A stop file ends the hold early (the scale run holds its devices until its end).
        runLoop(loop, seconds: holdSeconds) { stopFile.map { access($0, F_OK) == 0 } ?? false }
        let rssAfter = target.serverPID.flatMap(ProcessStats.rssKiB)
        let anonAfter = target.serverPID.flatMap(ProcessStats.anonKiB)

        var report = Report(scenario: "connect")
        report.add("conns", connections)
        report.add("opened", fleet.opened)
        report.add("failed", fleet.failed)
        report.add("warm_up", warmUps)
        report.add("conns_per_s", Double(fleet.opened) / max(elapsed, 1e-9), digits: 0)
        report.addLatency("handshake", fleet.handshakes)
        if let rssBefore, let rssAfter {
            report.add("server_rss_before_kib", rssBefore)
            report.add("server_rss_after_kib", rssAfter)
            report.add("server_kib_per_conn", Double(rssAfter - rssBefore) / Double(max(fleet.opened, 1)), digits: 3)
        }
        // What each accepted handshake cost the server: comparable even when the bench is the limit.
        if let serverCPUBefore, let serverCPUAfter, fleet.opened > 0 {
            report.add("server_cpu_us_per_conn", (serverCPUAfter - serverCPUBefore) * 1e6 / Double(fleet.opened), digits: 1)
        }
        if let anonBefore, let anonAfter {
            report.add("server_anon_kib_per_conn", Double(anonAfter - anonBefore) / Double(max(fleet.opened, 1)), digits: 3)
        }
        report.addBenchCPU(seconds: benchCPU, over: elapsed)
        for (reason, count) in fleet.failureReasons.sorted(by: { $0.value > $1.value }).prefix(3) {
            report.warn("\(count) failed: \(reason)")
        }
        fleet.abortAll()
        runLoop(loop, seconds: 5) { fleet.ended == fleet.clients.count }
        try? loop.close()
        return report
    }

    private static func warmUp(loop: Loop, target: BenchTarget, connections: Int, timeoutSeconds: Double) throws {
        guard connections > 0 else { return }
        let warm = try Fleet(loop: loop, target: target)
        warm.open((0..<connections).map { "\(target.idPrefix)warm-\($0)" })
        runLoop(loop, seconds: timeoutSeconds) { warm.settled }
        warm.closeAll()
        runLoop(loop, seconds: 5) { warm.ended == warm.clients.count }
        runLoop(loop, seconds: 0.5) { false }   // the server finishes its closes
    }
}
