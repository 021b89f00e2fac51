import Histogram
import UV

/// `churn`: hold N devices while a fraction of them reconnects every second, and measure the
/// handshake latency under churn and the latency of a steady set of paced pairs at the same time.
public enum ChurnScenario {
    public static func run(target: BenchTarget, connections: Int, fraction: Double, pairs: Int, rate: Double,
                           seconds: Double) throws -> Report {
        _ = ProcessStats.raiseFileLimit()
        let loop = try Loop()
        var report = Report(scenario: "churn")
        let holders = try Fleet(loop: loop, target: target)
        holders.open((0..<connections).map { "\(target.idPrefix)h-\($0)" })
        guard runLoop(loop, seconds: 120, progress: { "churn: \(holders.opened)/\(connections) held" }, until: { holders.settled }),
              holders.failed == 0 else {
            report.add("error", "only \(holders.opened) of \(connections) devices connected")
            return report
        }
        var steadyTarget = target
        steadyTarget.idPrefix += "s-"
        let steady = RouteScenario(pairs: pairs, window: Int.max / 2, rate: rate, seconds: seconds)
        if let problem = try steady.connect(loop: loop, target: steadyTarget) {
            report.add("error", problem)
            return report
        }

        // Each second, a fraction of the held ids connect again (replacing their old connection).
        let churners = try Fleet(loop: loop, target: target)
        let perSecond = max(1, Int(Double(connections) * fraction))
        var next = 0
        var rounds = 0
        let churnTimer = try Timer(loop: loop)
        churnTimer.start(afterMilliseconds: 1000, repeatEvery: 1000) {
            rounds += 1
            churners.open((0..<perSecond).map { _ in
                defer { next = (next + 1) % connections }
                return "\(target.idPrefix)h-\(next)"
            })
        }
        try steady.start(loop: loop, target: steadyTarget)
        steady.finish(loop: loop, target: steadyTarget)
        churnTimer.close()
        runLoop(loop, seconds: 10) { churners.settled }

        report.add("conns", connections)
        report.add("reconnects_per_s", perSecond)
        report.add("reconnects", churners.opened)
        report.add("reconnect_failures", churners.failed)
        report.addLatency("handshake", churners.handshakes)
        steady.addResults(to: &report, prefix: "steady_")
        holders.abortAll()
        churners.abortAll()
        steady.closeAll()
        runLoop(loop, seconds: 5) { holders.ended == holders.clients.count && churners.ended == churners.clients.count && steady.clientsEnded }
        try? loop.close()
        return report
    }
}
