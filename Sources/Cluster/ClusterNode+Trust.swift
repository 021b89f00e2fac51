import Redis

/// Token mode across the fleet (`TrustScripts`): grants of connected devices, revocations and
/// pairing codes, shared through Redis.
extension ClusterNode {
    /// Files the grant of `device` (connection `serial`, which must still hold it) and tells the
    /// nodes of devices it lists or that list it; `done` gets the devices that list it and are
    /// connected somewhere (it hears of them), or nil when Redis could not be asked.
    public func publishGrant(_ device: String, serial: UInt64, peers: [String], _ done: @escaping ([String]?) -> Void) {
        guard isAvailable else { return done(nil) }
        let arguments = [bytes(nodeID), bytes(String(serial)), bytes(device)] + peers.map(bytes)
        trustScripts.grant.run(on: commands, keys: [], arguments: arguments) { reply in
            done(reply.elements?.compactMap(\.string))
        }
    }

    /// Whether the grant of each of `devices` lists `sender`; nil when Redis could not be asked.
    public func listing(_ sender: String, in devices: [String], _ done: @escaping ([Bool]?) -> Void) {
        guard isAvailable, !devices.isEmpty else { return done(isAvailable ? [] : nil) }
        trustScripts.listing.run(on: commands, keys: [], arguments: [bytes(sender)] + devices.map(bytes)) { reply in
            guard let list = reply.elements, list.count == devices.count else { return done(nil) }
            done(list.map { $0.integer == 1 })
        }
    }

    /// Files a revocation fleet-wide (every other node is told); false when Redis is away.
    public func revoke(box: String, phone: String, until: Int64) -> Bool {
        guard isAvailable else { return false }
        trustScripts.revoke.run(on: commands, keys: [], arguments: [bytes(nodeID), bytes(box), bytes(phone), bytes(String(until))]) { _ in }
        return true
    }

    /// Lifts a revocation fleet-wide; false when Redis is away.
    public func lift(box: String, phone: String) -> Bool {
        guard isAvailable else { return false }
        trustScripts.lift.run(on: commands, keys: [], arguments: [bytes(nodeID), bytes(box), bytes(phone)]) { _ in }
        return true
    }

    /// Reads every revocation in force into the delegate (at each link up: what was filed while
    /// this node could not hear it).
    func loadRevocations() {
        trustScripts.revocations.run(on: commands, keys: []) { [weak self] reply in
            guard let self, let delegate, let list = reply.elements else { return }
            var index = 0
            while index + 1 < list.count {
                if let member = list[index].string, let until = ClusterNode.score(list[index + 1]), let newline = member.firstIndex(of: "\n") {
                    delegate.cluster(revoked: String(member[..<newline]), phone: String(member[member.index(after: newline)...]), until: until)
                }
                index += 2
            }
        }
    }

    /// A sorted set's score as whole seconds: text in RESP2, a double in RESP3.
    static func score(_ reply: RedisReply) -> Int64? {
        if case .double(let value) = reply { return Int64(value) }
        return reply.string.flatMap { Double($0) }.map { Int64($0) } ?? reply.integer
    }

    /// Files a pairing code for `box`, valid `seconds` by Redis' clock; `done(false)` when Redis
    /// could not be asked (the code would be known on this node only).
    public func issueCode(_ code: String, box: String, seconds: Int64, _ done: @escaping (Bool) -> Void = { _ in }) {
        guard isAvailable else { return done(false) }
        trustScripts.issueCode.run(on: commands, keys: [], arguments: [bytes(code), bytes(box), bytes(String(seconds))]) { reply in
            done(reply.integer == 1)
        }
    }

    /// What a pairing code is worth: its box (and, when `redeem`, it is used from now on), or why
    /// not; nil when Redis could not be asked.
    public func pairingCode(_ code: String, redeem: Bool, _ done: @escaping (CodeLookup?) -> Void) {
        guard isAvailable else { return done(nil) }
        trustScripts.code.run(on: commands, keys: [], arguments: [bytes(code), bytes(redeem ? "1" : "0")]) { reply in
            guard let parts = reply.elements, let kind = parts.first?.integer else { return done(nil) }
            switch kind {
            case 2: done(parts.count == 2 ? parts[1].string.map(CodeLookup.box) : nil)
            case 1: done(.used)
            case 3: done(.expired)
            default: done(.unknown)
            }
        }
    }

    /// Asks the node holding `device` to close it (4002); `done(true)` if some node held it, nil
    /// when Redis could not be asked.
    public func disconnect(_ device: String, reason: String, _ done: @escaping (Bool?) -> Void) {
        guard isAvailable else { return done(nil) }
        trustScripts.disconnect.run(on: commands, keys: [], arguments: [bytes(device), bytes(reason)]) { reply in
            done(reply.integer.map { $0 == 1 })
        }
    }

}

/// A pairing code as the fleet knows it.
public enum CodeLookup: Equatable, Sendable {
    case box(String)
    case unknown, used, expired
}
