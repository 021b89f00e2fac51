/// The last `capacity` console events in a fixed-size ring: recording one overwrites the oldest
/// slot, so the cost is the same whatever the fleet does. Written on connect, disconnect, kick and
/// refusal paths only, never per message.
public struct EventRing: Sendable {
    public static let defaultCapacity = 500
    public let capacity: Int
    private var slots: [ConsoleEvent] = []
    private var next = 0
    /// The `seq` of the newest event (0: none yet).
    public private(set) var lastSeq: UInt64 = 0

    public init(capacity: Int = EventRing.defaultCapacity) {
        precondition(capacity > 0)
        self.capacity = capacity
        slots.reserveCapacity(capacity)
    }

    public var count: Int { slots.count }

    public mutating func record(_ kind: ConsoleEvent.Kind, device: String, code: UInt16 = 0, detail: String = "", time: Int64) {
        lastSeq += 1
        let event = ConsoleEvent(seq: lastSeq, time: time, kind: kind, device: device, code: code, detail: detail)
        if slots.count < capacity {
            slots.append(event)
        } else {
            slots[next] = event
        }
        next = (next + 1) % capacity
    }

    /// Newest first; with `device`, only events whose device id contains it.
    public func newest(matching device: String? = nil) -> [ConsoleEvent] {
        var result: [ConsoleEvent] = []
        forEachNewestFirst { event in
            if let device, !device.isEmpty, !event.device.contains(device) { return true }
            result.append(event)
            return true
        }
        return result
    }

    /// Events recorded after `seq`, oldest first (those overwritten since are gone).
    public func after(_ seq: UInt64) -> [ConsoleEvent] {
        var result: [ConsoleEvent] = []
        forEachNewestFirst { event in
            guard event.seq > seq else { return false }
            result.append(event)
            return true
        }
        return result.reversed()
    }

    /// The newest disconnect of `device` still in the ring.
    public func lastDisconnect(of device: String) -> ConsoleEvent? {
        var found: ConsoleEvent?
        forEachNewestFirst { event in
            if event.kind == .disconnect && event.device == device { found = event }
            return found == nil
        }
        return found
    }

    /// Visits events newest first while `visit` returns true.
    private func forEachNewestFirst(_ visit: (ConsoleEvent) -> Bool) {
        var index = next
        for _ in 0..<slots.count {
            index = (index - 1 + slots.count) % slots.count
            if !visit(slots[index]) { return }
        }
    }
}
