/// What the console's live stream carries, as server-sent events (text/event-stream): a
/// `history` event when a console joins (every sample kept, every event in the ring), then one
/// unnamed event a second with the new sample, the events since the last one and the node rows.
/// Each is built once and the same bytes are written to every console.
public enum LiveFrame {
    /// Tells the browser to reconnect after 2 s if the stream breaks.
    public static let opening = Array("retry: 2000\n\n".utf8)

    public static func history(samples: [ConsoleSample], events: [ConsoleEvent], nodes: [NodeRow]?) -> [UInt8] {
        event("history", "{\"samples\":[\(samples.map(\.json).joined(separator: ","))],"
            + "\"events\":[\(events.map(\.json).joined(separator: ","))],\"nodes\":\(list(nodes))}")
    }

    public static func tick(sample: ConsoleSample, events: [ConsoleEvent], nodes: [NodeRow]?) -> [UInt8] {
        event(nil, "{\"sample\":\(sample.json),\"events\":[\(events.map(\.json).joined(separator: ","))],\"nodes\":\(list(nodes))}")
    }

    /// `data` is one line of JSON (no newline can end the event early).
    static func event(_ name: String?, _ data: String) -> [UInt8] {
        Array(((name.map { "event: \($0)\n" } ?? "") + "data: \(data)\n\n").utf8)
    }

    private static func list(_ nodes: [NodeRow]?) -> String {
        nodes.map { "[\($0.map(\.json).joined(separator: ","))]" } ?? "null"
    }
}
