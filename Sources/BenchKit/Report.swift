import Glibc
import Histogram

/// A scenario's results: a human table on stdout, a last line `SUMMARY <scenario> key=value ...`,
/// and optionally the same as JSON.
public struct Report {
    public let scenario: String
    public private(set) var values: [(String, String)] = []
    public private(set) var warnings: [String] = []

    public init(scenario: String) { self.scenario = scenario }

    public func value(_ key: String) -> String? { values.first { $0.0 == key }?.1 }

    public mutating func add(_ key: String, _ value: Int) { values.append((key, String(value))) }
    public mutating func add(_ key: String, _ value: Double, digits: Int = 1) { values.append((key, format(value, digits))) }
    public mutating func add(_ key: String, _ value: String) { values.append((key, value)) }
    public mutating func warn(_ text: String) { warnings.append(text) }

    /// p50/p90/p99/p99.9/max of a histogram recorded in nanoseconds, as microseconds.
    public mutating func addLatency(_ prefix: String, _ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else { return add("\(prefix)_count", 0) }
        for (name, percentile) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9)] {
            add("\(prefix)_\(name)_us", Double(histogram.valueAtPercentile(percentile)) / 1000, digits: 1)
        }
        add("\(prefix)_max_us", Double(histogram.max) / 1000, digits: 1)
    }

    /// Notes the bench's own CPU use and warns when it nears a full core (then the server was not
    /// the limit and the figure is bench-bound).
    public mutating func addBenchCPU(seconds cpu: Double, over elapsed: Double) {
        let share = elapsed > 0 ? cpu / elapsed : 0
        add("bench_cpu", share, digits: 2)
        if share > 0.9 { warn("bench used \(format(share * 100, 0))% of a core: the result is bench-bound") }
    }

    public func print(json path: String?) {
        let width = values.map { $0.0.count }.max() ?? 0
        Swift.print("\(scenario)")
        for (key, value) in values { Swift.print("  " + key.padding(width) + "  " + value) }
        for warning in warnings {
            Swift.print("  warning: \(warning)")
            fputsStderr("warning: \(warning)")
        }
        if let path { writeJSON(path) }
        Swift.print("SUMMARY \(scenario) " + values.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        fflush(nil)
    }

    private func writeJSON(_ path: String) {
        var text = "{\"scenario\":\"\(scenario)\""
        for (key, value) in values {
            let isNumber = Double(value) != nil
            text += ",\"\(key)\":" + (isNumber ? value : "\"\(value)\"")
        }
        text += ",\"warnings\":[" + warnings.map { "\"\($0)\"" }.joined(separator: ",") + "]}\n"
        guard let file = fopen(path, "w") else { return }
        fputs(text, file)
        fclose(file)
    }
}

func format(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return digits == 0 ? String(Int(rounded)) : String(rounded)
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

public func newLatencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}
