import Testing
@testable import BenchKit

/// The watch scenario's promise: each listed device is watched exactly once on each node, so a
/// node's death owes each watcher-node one offline per device.
@Suite struct WatchSharesTests {
    @Test(arguments: [(30, 3, 3000), (9, 3, 300), (10, 3, 7), (4, 1, 10), (5, 2, 101)])
    func everySubjectIsWatchedOncePerPort(watchers: Int, ports: Int, subjects: Int) {
        let shares = WatchScenario.shares(watchers: watchers, ports: ports, subjects: subjects)
        #expect(shares.count == watchers)
        for port in 0..<ports {
            let seen = (0..<watchers).filter { $0 % ports == port }.flatMap { shares[$0] }
            #expect(seen.sorted() == Array(0..<subjects))
        }
    }
}
