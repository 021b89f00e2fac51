import ArgumentParser
import BenchKit

/// `tether-bench`: load scripts for Tether and any server speaking the reference protocol.
@main
struct TetherBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load scripts: connect, route and presence scenarios against a Tether-protocol server (loopback only).",
        subcommands: [Connect.self, Route.self, Keep.self, Drain.self, Presence.self, Churn.self, Soak.self, Watch.self]
    )
}

struct Common: ParsableArguments {
    @Option(help: "Server address (loopback).") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 8080
    @Option(name: .customLong("src-ips"), help: "Spread client sockets over 127.0.0.1...127.0.0.K.") var srcIPs = 1
    @Option(help: "Prefix for every device id, so runs do not collide.") var idPrefix = ""
    @Option(help: "URL form: query (/?device_id=ID) or path (/ID).") var pathForm = "query"
    @Option(help: "Handshakes in flight at most.") var handshakes = 256
    @Option(help: "Server PID, to read its CPU and RSS from /proc.") var serverPid: Int32?
    @Option(name: .customLong("extra-pid"), help: "NAME=PID: another process whose CPU per message is reported as NAME_cpu_us_per_msg (a cluster's other node, redis-server); repeatable.")
    var extraPids: [String] = []
    @Option(help: "Also write the results as JSON to this file.") var json: String?
    @Option(help: "Token mode: sign each device's token with this key file (HMAC secret, or EC/RSA private key PEM).") var tokenKey: String?
    @Flag(help: "wss://: a full TLS 1.3 handshake per client (the server's certificate is not verified).") var tls = false
    @Flag(help: "Offer permessage-deflate (no context takeover either way); compress outgoing text.") var deflate = false

    func validate() throws {
        guard host.hasPrefix("127.") || host == "::1" || host == "localhost" else {
            throw ValidationError("the bench only targets loopback addresses")
        }
        guard pathForm == "query" || pathForm == "path" else { throw ValidationError("--path-form is query or path") }
        if let tokenKey {
            do { _ = try BenchTokens.minter(keyFile: tokenKey) } catch { throw ValidationError("--token-key: \(error)") }
        }
        if tls {
            do { _ = try WSClientOptions(tls: true, deflate: deflate) } catch { throw ValidationError("--tls: \(error)") }
        }
        guard extraPIDs != nil else { throw ValidationError("--extra-pid is NAME=PID, NAME letters, digits or _") }
    }

    var extraPIDs: [(name: String, pid: Int32)]? {
        var parsed: [(name: String, pid: Int32)] = []
        for item in extraPids {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let pid = Int32(parts[1]), !parts[0].isEmpty,
                  parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            parsed.append((String(parts[0]), pid))
        }
        return parsed
    }

    var target: BenchTarget {
        var target = BenchTarget()
        target.host = host == "localhost" ? "127.0.0.1" : host
        target.port = port
        target.sourceAddresses = srcIPs
        target.idPrefix = idPrefix
        target.pathForm = pathForm
        target.maxHandshakesInFlight = handshakes
        target.serverPID = serverPid
        target.extraPIDs = extraPIDs ?? []
        if let tokenKey { target.token = try? BenchTokens.minter(keyFile: tokenKey) }
        target.client = (try? WSClientOptions(tls: tls, deflate: deflate)) ?? WSClientOptions()
        return target
    }
}

struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open N devices and hold them.")
    @OptionGroup var common: Common
    @Option(help: "Connections to open.") var conns = 1000
    @Option(help: "Seconds to hold them before closing.") var hold = 1.0
    @Option(help: "Give up after this many seconds.") var timeout = 120.0
    @Option(help: "Stop holding early once this file exists.") var stopFile: String?
    @Option(help: "Warm-up connections opened and closed before the measured ones (default: a tenth, at most 500; 0 measures from a fresh server).") var warmUp: Int?

    func run() throws {
        try ConnectScenario.run(target: common.target, connections: conns, holdSeconds: hold, timeoutSeconds: timeout,
                                stopFile: stopFile, warmUp: warmUp)
            .print(json: common.json)
    }
}

struct Route: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Phones send to boxes; measure rate, latency and losses.")
    @OptionGroup var common: Common
    @Option(help: "Phone/box pairs.") var pairs = 50
    @Option(help: "Messages in flight per pair.") var window = 16
    @Option(help: "Paced messages per second per pair (instead of a window).") var rate: Double?
    @Option(help: "Measured seconds.") var seconds = 10.0
    @Option(name: .customLong("port-b"), help: "Cluster: the boxes connect to this port (another node), the phones to --port.") var portB: Int?
    @Option(help: "Pad each message to about this many bytes with app-like JSON (0: the bare envelope).") var messageBytes = 0
    @Flag(help: "Report bytes on the wire per message from the server's /metrics (Tether, plain port).") var wireBytes = false

    func run() throws {
        let scenario = RouteScenario(pairs: pairs, window: rate == nil ? window : Int.max / 2, rate: rate, seconds: seconds,
                                     messageBytes: messageBytes)
        var target = common.target
        target.recipientPort = portB
        let before = wireBytes ? WireBytes.read(host: target.host, port: target.port) : nil
        var report = try scenario.run(target: target)
        if messageBytes > 0 { report.add("message_bytes", messageBytes) }
        if common.deflate { report.add("deflate_agreed", ClientDeflate.agreements) }
        if wireBytes {
            let after = WireBytes.read(host: target.host, port: target.port)
            WireBytes.add(to: &report, before: before, after: after, messages: Int(report.value("sent") ?? "") ?? 0)
        }
        report.print(json: common.json)
    }
}

struct Keep: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Phones send messages with a ttl to offline devices; measure kept msg/s (status 8) and its latency.")
    @OptionGroup var common: Common
    @Option(help: "Phones.") var pairs = 50
    @Option(help: "Messages awaiting their status 8 per phone.") var window = 16
    @Option(help: "Offline recipients per phone, sent to in turn.") var recipients = 1000
    @Option(help: "Measured seconds.") var seconds = 10.0
    @Option(help: "The messages' ttl in seconds.") var ttl = 300

    func run() throws {
        try KeepScenario(phones: pairs, window: window, recipients: recipients, seconds: seconds, ttl: ttl)
            .run(target: common.target).print(json: common.json)
    }
}

struct Drain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offline devices each get messages kept, then all connect at once: every kept message delivered, in order, once; connect-to-last-message latency; memory per kept message."
    )
    @OptionGroup var common: Common
    @Option(help: "Offline devices.") var recipients = 10_000
    @Option(help: "Messages kept for each.") var perRecipient = 10
    @Option(help: "Sending devices.") var senders = 50
    @Option(help: "Messages awaiting their status 8 per sender.") var window = 32
    @Option(help: "The messages' ttl in seconds.") var ttl = 300

    func run() throws {
        try DrainScenario(recipients: recipients, perRecipient: perRecipient, senders: senders, window: window, ttl: ttl)
            .run(target: common.target).print(json: common.json)
    }
}

struct Presence: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Watchers see devices come and go.")
    @OptionGroup var common: Common
    @Option(help: "Watchers.") var conns = 2000
    @Option(help: "Devices coming and going per cycle.") var devices = 50
    @Option(help: "Cycles.") var cycles = 3

    func run() throws {
        try PresenceScenario(watchers: conns, devices: devices, cycles: cycles).run(target: common.target).print(json: common.json)
    }
}

struct Churn: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Devices reconnect while steady pairs keep talking.")
    @OptionGroup var common: Common
    @Option(help: "Devices held.") var conns = 5000
    @Option(help: "Fraction of them reconnecting each second.") var fraction = 0.02
    @Option(help: "Steady phone/box pairs.") var pairs = 100
    @Option(help: "Paced messages per second per steady pair.") var rate = 20.0
    @Option(help: "Measured seconds.") var seconds = 10.0

    func run() throws {
        try ChurnScenario.run(target: common.target, connections: conns, fraction: fraction, pairs: pairs, rate: rate, seconds: seconds)
            .print(json: common.json)
    }
}

struct Soak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watchers-mode soak: devices reconnecting while paced pairs route, beside hostile clients; losses, presence, p99, RSS."
    )
    @OptionGroup var common: Common
    @Option(help: "Idle devices held, each watched by one watcher device.") var devices = 15000
    @Option(help: "Fraction of them closing and reconnecting each second.") var fraction = 0.02
    @Option(help: "Paced phone/box pairs.") var pairs = 1000
    @Option(help: "Messages per second per pair.") var rate = 20.0
    @Option(help: "Measured seconds.") var seconds = 60.0
    @Option(help: "Hostile clients (0: none): non-readers, pipelined PNGs, connect/close loops.") var hostile = 50
    @Option(name: .customLong("hostile-src"), help: "Source address of the hostile clients.") var hostileSrc = "127.0.0.200"
    @Option(help: "Seconds to hold the devices after the end reading for a second RSS reading (0: none).") var rssSettle = 0.0

    func validate() throws {
        guard hostileSrc.hasPrefix("127.") else { throw ValidationError("--hostile-src must be a loopback address") }
        guard devices > 0, pairs > 0, seconds > 0, hostile >= 0 else { throw ValidationError("counts and seconds must be positive") }
    }

    func run() throws {
        var options = SoakScenario.Options()
        options.devices = devices
        options.fraction = fraction
        options.pairs = pairs
        options.rate = rate
        options.seconds = seconds
        options.hostile = hostile
        options.hostileSource = hostileSrc
        options.rssSettleSeconds = rssSettle
        try SoakScenario(options: options).run(target: common.target).print(json: common.json)
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watchers on several nodes watch listed devices; every listed gone device must go offline once at each watcher of it, steady ones never."
    )
    @OptionGroup var common: Common
    @Option(help: "Watchers, spread over --ports in turn.") var watchers = 30
    @Option(help: "Comma-separated ports (nodes) for the watchers (default: --port).") var ports = ""
    @Option(help: "File of device ids, one a line, expected to go offline once each.") var goneIds: String
    @Option(help: "File of device ids, one a line, that must not go offline.") var steadyIds: String?
    @Option(help: "Hold the watchers at most this many seconds.") var seconds = 120.0
    @Option(help: "Seconds to go on listening once every expected offline has arrived.") var settle = 5.0
    @Option(help: "Write this file once every watch is registered.") var readyFile: String?

    func validate() throws {
        guard watchers > 0, seconds > 0, settle >= 0 else { throw ValidationError("counts and seconds must be positive") }
        guard ports.split(separator: ",").allSatisfy({ Int($0) != nil }) else { throw ValidationError("--ports is P,P,...") }
    }

    func run() throws {
        func ids(_ path: String?) throws -> [String] {
            guard let path else { return [] }
            guard let lines = WatchScenario.lines(ofFile: path) else { throw ValidationError("cannot read \(path)") }
            return lines
        }
        var options = WatchScenario.Options()
        options.watchers = watchers
        options.ports = ports.split(separator: ",").compactMap { Int($0) }
        options.gone = try ids(goneIds)
        options.steady = try ids(steadyIds)
        options.seconds = seconds
        options.settleSeconds = settle
        options.readyFile = readyFile
        try WatchScenario(options: options).run(target: common.target).print(json: common.json)
    }
}
