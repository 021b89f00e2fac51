import Glibc
import UV

/// `watch`: watchers spread over several nodes (`ports`) each ask about their share of two lists
/// of subjects (queryStatus, 100 ids a query) and then count every presence event until the end.
/// Every subject is watched by exactly one watcher on each port. `gone` subjects are expected to
/// go offline once (their node is killed while this runs); `steady` ones must produce nothing.
/// The scale run (scripts/scale.sh) kills a node once `readyFile` exists.
public final class WatchScenario {
    public struct Options {
        public var watchers = 30
        /// Ports the watchers connect to, in turn (empty: the target's port).
        public var ports: [Int] = []
        public var gone: [String] = []
        public var steady: [String] = []
        /// The longest the watchers are held.
        public var seconds = 120.0
        /// Once every expected offline has arrived, how long to go on listening for duplicates.
        public var settleSeconds = 5.0
        /// Written once every query has been answered.
        public var readyFile: String?
        public init() {}
    }

    static let idsPerQuery = 100

    let options: Options
    private var subjectIndex: [String: Int] = [:]
    /// Per watcher, the subjects it asked about (indexes into gone + steady).
    private var watched: [Set<Int>] = []
    /// Offline and online events per (watcher, subject), heard after the answers.
    private var offlines: [[Int: Int]] = []
    private var onlines = 0
    private var strays = 0
    private var answeredOnline = 0
    private var answeredOther = 0
    private var queryErrors = 0
    private var queryAnswers = 0
    private var firstOffline: Double?
    private var lastOffline: Double?
    private var expectedHeard = 0

    public init(options: Options) { self.options = options }

    /// The non-empty lines of a file (a list of ids), or nil if it cannot be read.
    public static func lines(ofFile path: String) -> [String]? {
        ProcessStats.read(path).map { $0.split(whereSeparator: \.isNewline).map(String.init) }
    }

    var subjectCount: Int { options.gone.count + options.steady.count }
    var expected: Int { options.gone.count * max(1, options.ports.count) }

    public func run(target: BenchTarget) throws -> Report {
        _ = ProcessStats.raiseFileLimit()
        var report = Report(scenario: "watch")
        let ports = options.ports.isEmpty ? [target.port] : options.ports
        guard options.watchers >= ports.count else {
            report.add("error", "fewer watchers than ports")
            return report
        }
        for (index, id) in (options.gone + options.steady).enumerated() { subjectIndex[id] = index }
        let loop = try Loop()
        let fleet = try Fleet(loop: loop, target: target)
        fleet.onText = { [unowned self] client, payload in observe(client.index, payload) }
        watched = Array(repeating: [], count: options.watchers)
        offlines = Array(repeating: [:], count: options.watchers)
        for watcher in 0..<options.watchers {
            fleet.open(["\(target.idPrefix)w-\(watcher)"], port: ports[watcher % ports.count])
        }
        guard runLoop(loop, seconds: 60, until: { fleet.settled }), fleet.failed == 0 else {
            report.add("error", "only \(fleet.opened) of \(options.watchers) watchers connected")
            return report
        }
        let queries = ask(fleet, ports: ports.count, prefix: target.idPrefix)
        guard runLoop(loop, seconds: 60, until: { queryAnswers + queryErrors == queries }), queryErrors == 0 else {
            report.add("error", "\(queryAnswers) of \(queries) queryStatus answered ok, \(queryErrors) refused")
            return report
        }
        if let readyFile = options.readyFile, let file = fopen(readyFile, "w") { fclose(file) }
        fputsStderr("watch: \(options.watchers) watchers ready, \(answeredOnline) watched subjects answered online")

        var completeAt: UInt64?
        runLoop(loop, seconds: options.seconds, progress: { [unowned self] in "watch: \(expectedHeard)/\(expected) offlines" }) {
            if completeAt == nil && expectedHeard >= expected { completeAt = monotonicNanoseconds() }
            return completeAt.map { monotonicNanoseconds() - $0 >= UInt64(options.settleSeconds * 1e9) } ?? false
        }
        addResults(to: &report, fleet: fleet, ports: ports)
        fleet.abortAll()
        runLoop(loop, seconds: 5) { fleet.ended == fleet.clients.count }
        try? loop.close()
        return report
    }

    /// Watcher w is on port w % P and is the k-th of its port's watchers; subject i goes to the
    /// watcher of each port whose k == i % (that port's watchers): every subject is watched once
    /// per port. Per watcher, its subjects.
    static func shares(watchers: Int, ports: Int, subjects: Int) -> [[Int]] {
        let perPort = (0..<ports).map { port in (0..<watchers).filter { $0 % ports == port }.count }
        return (0..<watchers).map { watcher in
            Array(stride(from: watcher / ports, to: subjects, by: perPort[watcher % ports]))
        }
    }

    /// Sends each watcher's queries (100 ids each); returns how many were sent.
    private func ask(_ fleet: Fleet, ports: Int, prefix: String) -> Int {
        var queries = 0
        let gone = Self.shares(watchers: options.watchers, ports: ports, subjects: options.gone.count)
        let steady = Self.shares(watchers: options.watchers, ports: ports, subjects: options.steady.count)
        for watcher in 0..<options.watchers {
            let mine = gone[watcher] + steady[watcher].map { options.gone.count + $0 }
            watched[watcher] = Set(mine)
            let ids = gone[watcher].map { options.gone[$0] } + steady[watcher].map { options.steady[$0] }
            for start in stride(from: 0, to: ids.count, by: Self.idsPerQuery) {
                let list = ids[start..<min(start + Self.idsPerQuery, ids.count)].map { "\"\($0)\"" }.joined(separator: ",")
                let query = "{\"from\":\"\(prefix)w-\(watcher)\",\"to\":\"server\",\"msg\":\"queryStatus\",\"data\":[\(list)]}"
                Array(query.utf8).withUnsafeBytes { fleet.clients[watcher].sendText($0) }
                queries += 1
            }
        }
        return queries
    }

    /// A queryStatus answer (counted per subject: online or not), or a presence event.
    private func observe(_ watcher: Int, _ payload: UnsafeRawBufferPointer) {
        let bytes = Array(payload)
        if let status = StatusReply.status(payload) {
            guard status == 0 else { queryErrors += 1; return }
            queryAnswers += 1
            let online = count(Self.onlineValue, in: bytes)
            answeredOnline += online
            answeredOther += count(Self.quoteColonQuote, in: bytes) - 1 - online   // minus "message":"ok"
            return
        }
        guard count(Self.toAll, in: bytes) > 0, let from = member(Self.fromKey, of: bytes) else { return }
        guard bytes.count >= Self.offlineTail.count, Array(bytes.suffix(Self.offlineTail.count)) == Self.offlineTail else {
            if subjectIndex[from] != nil { onlines += 1 }   // not the watcher's own online
            return
        }
        guard let subject = subjectIndex[from], watched[watcher].contains(subject) else { strays += 1; return }
        offlines[watcher][subject, default: 0] += 1
        if subject < options.gone.count && offlines[watcher][subject] == 1 { expectedHeard += 1 }
        let now = realtimeSeconds()
        if firstOffline == nil { firstOffline = now }
        lastOffline = now
    }

    private static let onlineValue = Array("\":\"online\"".utf8)
    private static let quoteColonQuote = Array("\":\"".utf8)
    private static let toAll = Array("\"to\":\"all\"".utf8)
    private static let fromKey = Array("\"from\":\"".utf8)
    private static let offlineTail = Array("\"msg\":\"offline\"}".utf8)

    /// Occurrences of `needle` in `bytes` (they do not overlap in JSON).
    private func count(_ needle: [UInt8], in bytes: [UInt8]) -> Int {
        guard bytes.count >= needle.count else { return 0 }
        var found = 0, index = 0
        while index <= bytes.count - needle.count {
            if bytes[index..<index + needle.count].elementsEqual(needle) { found += 1; index += needle.count } else { index += 1 }
        }
        return found
    }

    /// The string value after `key` (`"name":"`), up to the next quote.
    private func member(_ key: [UInt8], of bytes: [UInt8]) -> String? {
        guard bytes.count >= key.count else { return nil }
        for start in 0...(bytes.count - key.count) where bytes[start..<start + key.count].elementsEqual(key) {
            let valueStart = start + key.count
            guard let end = bytes[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            return String(decoding: bytes[valueStart..<end], as: UTF8.self)
        }
        return nil
    }

    private func addResults(to report: inout Report, fleet: Fleet, ports: [Int]) {
        var duplicated = 0, steadyOfflines = 0
        var missingByPort = Array(repeating: 0, count: ports.count)
        for watcher in 0..<options.watchers {
            for subject in watched[watcher] {
                let count = offlines[watcher][subject] ?? 0
                if subject >= options.gone.count { steadyOfflines += count; continue }
                if count == 0 { missingByPort[watcher % ports.count] += 1 }
                duplicated += max(0, count - 1)
            }
        }
        report.add("watchers", options.watchers)
        report.add("ports", ports.map(String.init).joined(separator: "/"))
        report.add("gone_subjects", options.gone.count)
        report.add("steady_subjects", options.steady.count)
        report.add("answered_online", answeredOnline)
        report.add("answered_not_online", answeredOther)
        report.add("offline_expected", expected)
        report.add("offline_received_once", expectedHeard)
        report.add("offline_missing", missingByPort.reduce(0, +))
        for (index, port) in ports.enumerated() where missingByPort[index] > 0 {
            report.add("offline_missing_port_\(port)", missingByPort[index])
        }
        report.add("offline_duplicated", duplicated)
        report.add("offline_for_steady", steadyOfflines)
        report.add("offline_strays", strays)
        report.add("online_events", onlines)
        report.add("watchers_dropped", fleet.clients.filter { !$0.isOpen }.count)
        if let firstOffline, let lastOffline {
            report.add("first_offline_unix", firstOffline, digits: 3)
            report.add("last_offline_unix", lastOffline, digits: 3)
        }
        let met = expectedHeard == expected && duplicated == 0 && steadyOfflines == 0 && strays == 0
            && answeredOther == 0 && fleet.clients.allSatisfy(\.isOpen)
        report.add("goals_met", met ? "yes" : "no")
    }
}

func realtimeSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
