/// When a message to an offline device is kept instead of answered status 1: when it carries a
/// `ttl` (whole seconds, 1 to `maxSeconds`), or when the server gives messages without one a
/// default. Keeping is the sender's choice by default: a key press that arrives late is worse than none.
public struct KeepRule: Sendable, Equatable {
    /// The longest `ttl` a message may ask for (--max-offline-ttl).
    public var maxSeconds: Int
    /// The ttl of messages that carry none; 0 keeps nothing without one (--offline-ttl).
    public var defaultSeconds: Int

    public init(maxSeconds: Int = 300, defaultSeconds: Int = 0) {
        self.maxSeconds = maxSeconds
        self.defaultSeconds = defaultSeconds
    }

    /// The status 2 answer to a `ttl` out of range, naming the range.
    public var rangeProblem: String { "\"ttl\" must be whole seconds from 1 to \(maxSeconds)" }

    public func allows(_ ttl: Int) -> Bool { ttl >= 1 && ttl <= maxSeconds }

    /// How long to keep a message with this `ttl` (already checked) for an offline recipient; nil: not kept.
    public func seconds(for ttl: Int?) -> Int? {
        let seconds = ttl ?? defaultSeconds
        return seconds > 0 ? seconds : nil
    }
}
