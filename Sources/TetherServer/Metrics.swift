import Glibc
import Storage

/// Counters for `GET /metrics`, in the Prometheus text format. Written by hand: a handful of
/// counters updated on the loop need no registry or locks, and the text format is short.
final class Metrics {
    var connectionsTotal: UInt64 = 0
    var handshakesFailed: [Int: UInt64] = [:]        // by HTTP status
    var messagesRouted: UInt64 = 0
    var routingErrors: [Int: UInt64] = [:]           // by reply status
    var presenceFrames: UInt64 = 0
    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0
    var heartbeatTimeouts: UInt64 = 0
    var slowConsumerCloses: UInt64 = 0
    /// Routed messages whose recipient's connection ended before the kernel took them (answered status 1).
    var undelivered: UInt64 = 0
    /// Connections refused by the per-address limits, by limit ("open", "rate").
    var addressRefusals: [String: UInt64] = [:]
    /// Times a connection's pipelined requests were put off to a later loop turn.
    var deferredRequests: UInt64 = 0
    /// Tokens refused at the handshake or the API, by reason (never the token itself).
    var authFailures: [String: UInt64] = [:]
    var tokenExpiries: UInt64 = 0
    var apiKeyFailures: UInt64 = 0
    var pairings: UInt64 = 0
    var tlsHandshakes: UInt64 = 0
    /// TLS connections refused or failed, by reason (handshake_failed, plain_http, tls_on_plain_port, ...).
    var tlsRefusals: [String: UInt64] = [:]
    var tlsReloads: [String: UInt64] = [:]
    /// Connections that became a device, and devices whose connection ended, by close code.
    var deviceConnects: UInt64 = 0
    /// By close code (0: a code not counted apart); only codes seen are listed.
    var deviceDisconnectsTotal: UInt64 { disconnectsBySlot.reduce(0, +) }
    var deviceDisconnects: [UInt16: UInt64] {
        var byCode: [UInt16: UInt64] = [:]
        for (slot, count) in disconnectsBySlot.enumerated() where count > 0 { byCode[Metrics.disconnectCode(slot: slot)] = count }
        return byCode
    }
    /// The counts behind `deviceDisconnects`: slot 0 "other", 1-12 codes 1000-1011, 13-15 codes
    /// 4001-4003 (a Dictionary hashed the code on every close, about 350 instructions).
    private var disconnectsBySlot = [UInt64](repeating: 0, count: 16)
    /// Devices closed with 1008 for flooding past --max-messages-per-second.
    var rateLimitCloses: UInt64 = 0
    /// Messages kept for offline devices (status 8), handed over, expired, and refused by bound.
    var keptTotal: UInt64 = 0
    var keptDelivered: UInt64 = 0
    var keptExpired: UInt64 = 0
    var keptRefused: [String: UInt64] = [:]
    var qrCacheHits: UInt64 = 0
    var qrCacheMisses: UInt64 = 0
    /// Lateness of the sweep timer (loop lag) over the last minute: (loop time, milliseconds late).
    private var lagSamples: [(at: UInt64, late: UInt64)] = []
    private var lagStart = 0

    func recordLag(_ milliseconds: UInt64, now: UInt64) {
        lagSamples.append((now, milliseconds))
        while lagStart < lagSamples.count && lagSamples[lagStart].at + 60_000 < now { lagStart += 1 }
        if lagStart > 1024 { lagSamples.removeFirst(lagStart); lagStart = 0 }
    }

    var lagP99Milliseconds: UInt64 {
        let recent = lagSamples[lagStart...].map(\.late).sorted()
        guard !recent.isEmpty else { return 0 }
        return recent[min(recent.count - 1, recent.count * 99 / 100)]
    }

    /// What /metrics reports besides the counters kept here, read by the server when asked.
    struct Gauges {
        var connections: Int
        var connectionsLimit: Int
        var devices: Int
        var presenceEvents: UInt64
        var queuedBytes: Int
        var consoleStreams: Int
        var kept: KeptAmount
        var keptBytesLimit: Int
    }

    func render(_ gauges: Gauges) -> String {
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, UInt64)]) {
            text += "# HELP tether_\(name) \(help)\n# TYPE tether_\(name) \(type)\n"
            for (labels, value) in samples { text += "tether_\(name)\(labels) \(value)\n" }
        }
        func byStatus(_ counts: [Int: UInt64]) -> [(String, UInt64)] {
            counts.sorted { $0.key < $1.key }.map { ("{status=\"\($0.key)\"}", $0.value) }
        }
        metric("connections", "gauge", "Open connections.", [("", UInt64(gauges.connections))])
        metric("connections_limit", "gauge", "Connections served at once (--max-connections); more get 503.", [("", UInt64(gauges.connectionsLimit))])
        metric("devices", "gauge", "Registered devices.", [("", UInt64(gauges.devices))])
        metric("connections_total", "counter", "Connections accepted.", [("", connectionsTotal)])
        metric("device_connects_total", "counter", "Connections that became a device.", [("", deviceConnects)])
        metric("device_disconnects_total", "counter", "Devices whose connection ended, by close code (1006: no close frame; other: a code Tether does not use).",
               deviceDisconnects.sorted { $0.key < $1.key }.map { ("{code=\"\(Metrics.codeLabel($0.key))\"}", $0.value) })
        metric("queued_bytes", "gauge", "Bytes held in user space for devices' connections (not yet taken by the kernel).", [("", UInt64(gauges.queuedBytes))])
        metric("handshakes_failed_total", "counter", "Requests refused before an upgrade, by HTTP status.", byStatus(handshakesFailed))
        metric("messages_routed_total", "counter", "Messages forwarded to their recipient.", [("", messagesRouted)])
        metric("routing_errors_total", "counter", "Error replies to senders, by status.", byStatus(routingErrors))
        metric("presence_events_total", "counter", "Online and offline events.", [("", gauges.presenceEvents)])
        metric("presence_frames_total", "counter", "Presence frames written (events times recipients).", [("", presenceFrames)])
        metric("bytes_in_total", "counter", "Bytes read from sockets.", [("", bytesIn)])
        metric("bytes_out_total", "counter", "Bytes handed to sockets.", [("", bytesOut)])
        metric("heartbeat_timeouts_total", "counter", "Connections closed for silence after a ping.", [("", heartbeatTimeouts)])
        metric("slow_consumer_closes_total", "counter", "Connections closed with 1008 for staying over the queue cap.", [("", slowConsumerCloses)])
        metric("rate_limit_closes_total", "counter", "Devices closed with 1008 for flooding past --max-messages-per-second.", [("", rateLimitCloses)])
        metric("undelivered_total", "counter", "Routed messages answered status 1 because the recipient's connection ended before the kernel took them.", [("", undelivered)])
        metric("kept_messages", "gauge", "Messages kept for offline devices.", [("", UInt64(gauges.kept.messages))])
        metric("kept_bytes", "gauge", "Payload bytes of the messages kept for offline devices.", [("", UInt64(gauges.kept.bytes))])
        metric("kept_bytes_limit", "gauge", "Payload bytes all kept messages may take (--offline-max-total-bytes).", [("", UInt64(gauges.keptBytesLimit))])
        metric("kept_total", "counter", "Messages kept for offline devices (answered status 8).", [("", keptTotal)])
        metric("kept_delivered_total", "counter", "Kept messages handed to their recipient.", [("", keptDelivered)])
        metric("kept_expired_total", "counter", "Kept messages whose ttl ran out before their recipient came.", [("", keptExpired)])
        metric("kept_refused_total", "counter", "Messages not kept (status 5), by the bound they would pass.",
               KeptRefusal.allCases.map { ("{limit=\"\($0.rawValue)\"}", keptRefused[$0.rawValue] ?? 0) })
        metric("address_refusals_total", "counter", "Connections refused by the per-address limits, by limit.",
               addressRefusals.sorted { $0.key < $1.key }.map { ("{limit=\"\($0.key)\"}", $0.value) })
        metric("deferred_requests_total", "counter", "Times pipelined HTTP requests were put off to a later loop turn.", [("", deferredRequests)])
        metric("qr_cache_total", "counter", "Pairing code renders, by cache result.", [("{result=\"hit\"}", qrCacheHits), ("{result=\"miss\"}", qrCacheMisses)])
        metric("auth_failures_total", "counter", "Device tokens refused, by reason.",
               authFailures.sorted { $0.key < $1.key }.map { ("{reason=\"\($0.key)\"}", $0.value) })
        metric("token_expiries_total", "counter", "Connections closed with 4003 when their token expired.", [("", tokenExpiries)])
        metric("api_key_failures_total", "counter", "Requests with a wrong or missing API key.", [("", apiKeyFailures)])
        metric("pairings_total", "counter", "Phones paired with a box by code.", [("", pairings)])
        metric("tls_handshakes_total", "counter", "TLS handshakes completed.", [("", tlsHandshakes)])
        metric("tls_refusals_total", "counter", "TLS connections failed or refused, and TLS sent to a plain port, by reason.",
               tlsRefusals.sorted { $0.key < $1.key }.map { ("{reason=\"\($0.key)\"}", $0.value) })
        metric("tls_reloads_total", "counter", "Certificate reloads (SIGHUP), by result.",
               tlsReloads.sorted { $0.key < $1.key }.map { ("{result=\"\($0.key)\"}", $0.value) })
        metric("console_streams", "gauge", "Operator consoles watching the live stream.", [("", UInt64(gauges.consoleStreams))])
        metric("loop_lag_p99_milliseconds", "gauge", "p99 of the sweep timer's lateness over the last minute.", [("", lagP99Milliseconds)])
        metric("open_fds", "gauge", "Open file descriptors.", [("", UInt64(Metrics.openDescriptors()))])
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        metric("fd_limit", "gauge", "Open-file limit.", [("", UInt64(limit.rlim_cur))])
        metric("resident_memory_bytes", "gauge", "Resident set size.", [("", Metrics.residentBytes())])
        return text
    }

    /// Counts a device's close. Codes RFC 6455 defines and Tether's own are counted apart, any
    /// other under "other": a device may send any code from 3000 to 4999, and the label set stays small.
    func countDisconnect(code: UInt16) {
        let slot: Int
        switch code {
        case 1000...1011: slot = Int(code - 1000) + 1
        case 4001...4003: slot = Int(code - 4001) + 13
        default: slot = 0
        }
        disconnectsBySlot[slot] += 1
    }

    private static func disconnectCode(slot: Int) -> UInt16 {
        switch slot {
        case 1...12: UInt16(1000 + slot - 1)
        case 13...15: UInt16(4001 + slot - 13)
        default: 0
        }
    }

    static func codeLabel(_ key: UInt16) -> String { key == 0 ? "other" : String(key) }

    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return max(0, count - 3)   // ".", ".." and the directory's own descriptor
    }

    static func residentBytes() -> UInt64 {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count > 1 else { return 0 }
        return (UInt64(fields[1]) ?? 0) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
