/// The server's counters read at one moment: a sample's rates are the differences of two.
public struct CounterReading: Sendable, Equatable {
    /// Reply statuses counted (1-6); index 0 is unused.
    public static let replyStatuses = 1...6

    /// Loop time of the reading, in milliseconds.
    public var at: UInt64
    public var deviceConnects: UInt64 = 0
    public var deviceDisconnects: UInt64 = 0
    public var messagesRouted: UInt64 = 0
    /// Error replies by status.
    public var replies = [UInt64](repeating: 0, count: 7)
    public var slowConsumerCloses: UInt64 = 0
    public var rateLimitCloses: UInt64 = 0
    /// Device tokens and API keys refused.
    public var authFailures: UInt64 = 0

    public init(at: UInt64) {
        self.at = at
    }
}

/// What the console shows as it is now (not a rate).
public struct ConsoleGauges: Sendable, Equatable {
    /// Devices online by class (`DeviceClass.rawValue` order).
    public var devices: [Int]
    public var connections: Int
    /// Bytes held in user space for the devices' connections.
    public var queuedBytes: Int

    public init(devices: [Int], connections: Int, queuedBytes: Int) {
        self.devices = devices
        self.connections = connections
        self.queuedBytes = queuedBytes
    }
}
