/// The console's last `capacity` samples (15 minutes at one a second), oldest overwritten first.
/// Kept across the times no console is open, so a console opened later shows what was seen.
public struct SampleHistory: Sendable {
    public static let defaultCapacity = 900
    public let capacity: Int
    private var samples: [ConsoleSample] = []
    private var next = 0

    public init(capacity: Int = SampleHistory.defaultCapacity) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { samples.count }

    public mutating func append(_ sample: ConsoleSample) {
        if samples.count < capacity {
            samples.append(sample)
        } else {
            samples[next] = sample
        }
        next = (next + 1) % capacity
    }

    /// Oldest first.
    public var ordered: [ConsoleSample] {
        samples.count < capacity ? samples : Array(samples[next...] + samples[..<next])
    }

    public var latest: ConsoleSample? { samples.isEmpty ? nil : samples[(next - 1 + samples.count) % samples.count] }
}
