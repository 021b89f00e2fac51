/// When each connected device arrived and what class it is, with a count per class kept as they
/// come and go (so the console reads "devices online by class" without walking the fleet).
/// Kept only when the backend API is on, which reports `since` for a device.
public struct DeviceLedger: Sendable {
    /// Unix seconds in 32 bits and the class: 8 bytes a device, as the bare time was.
    public struct Arrival: Sendable, Equatable {
        public let since: UInt32
        public let deviceClass: DeviceClass
    }

    private var arrivals: [String: Arrival] = [:]
    public private(set) var counts = [Int](repeating: 0, count: DeviceClass.allCases.count)

    public init() {}

    /// Device `id` connected (a connection that replaces its previous one arrives again).
    public mutating func arrive(_ id: String, as deviceClass: DeviceClass, now: Int64) {
        if let previous = arrivals[id] { counts[Int(previous.deviceClass.rawValue)] -= 1 }
        arrivals[id] = Arrival(since: UInt32(clamping: now), deviceClass: deviceClass)
        counts[Int(deviceClass.rawValue)] += 1
    }

    /// Device `id`'s current connection ended.
    public mutating func leave(_ id: String) {
        guard let arrival = arrivals.removeValue(forKey: id) else { return }
        counts[Int(arrival.deviceClass.rawValue)] -= 1
    }

    public func arrival(of id: String) -> Arrival? { arrivals[id] }

    public func count(of deviceClass: DeviceClass) -> Int { counts[Int(deviceClass.rawValue)] }
}
