/// One second of the console's charts: gauges as they are, counters as rates per second over the
/// time since the previous reading.
public struct ConsoleSample: Sendable, Equatable {
    /// Wall clock, Unix milliseconds.
    public let time: Int64
    public let gauges: ConsoleGauges
    public let connectsPerSecond: Double
    public let disconnectsPerSecond: Double
    public let routedPerSecond: Double
    /// Error replies per second, by status 1-6 (index 0 is status 1).
    public let repliesPerSecond: [Double]
    public let slowConsumerClosesPerSecond: Double
    public let rateLimitClosesPerSecond: Double
    public let authFailuresPerSecond: Double

    public init(time: Int64, gauges: ConsoleGauges, from previous: CounterReading, to current: CounterReading) {
        self.time = time
        self.gauges = gauges
        let seconds = Double(max(1, current.at &- previous.at)) / 1000
        func rate(_ counter: KeyPath<CounterReading, UInt64>) -> Double {
            Double(current[keyPath: counter] &- min(previous[keyPath: counter], current[keyPath: counter])) / seconds
        }
        connectsPerSecond = rate(\.deviceConnects)
        disconnectsPerSecond = rate(\.deviceDisconnects)
        routedPerSecond = rate(\.messagesRouted)
        repliesPerSecond = CounterReading.replyStatuses.map { status in
            Double(current.replies[status] &- min(previous.replies[status], current.replies[status])) / seconds
        }
        slowConsumerClosesPerSecond = rate(\.slowConsumerCloses)
        rateLimitClosesPerSecond = rate(\.rateLimitCloses)
        authFailuresPerSecond = rate(\.authFailures)
    }

    /// One line of JSON; rates to one decimal.
    public var json: String {
        let devices = gauges.devices
        return "{\"t\":\(time),\"box\":\(devices[0]),\"phone\":\(devices[1]),\"other\":\(devices[2]),"
            + "\"conns\":\(gauges.connections),\"in\":\(Self.decimal(connectsPerSecond)),\"out\":\(Self.decimal(disconnectsPerSecond)),"
            + "\"routed\":\(Self.decimal(routedPerSecond)),\"replies\":[\(repliesPerSecond.map(Self.decimal).joined(separator: ","))],"
            + "\"queued\":\(gauges.queuedBytes),\"slow\":\(Self.decimal(slowConsumerClosesPerSecond)),"
            + "\"limited\":\(Self.decimal(rateLimitClosesPerSecond)),\"auth\":\(Self.decimal(authFailuresPerSecond))}"
    }

    static func decimal(_ value: Double) -> String {
        let tenths = Int((max(0, value) * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(tenths % 10)"
    }
}
