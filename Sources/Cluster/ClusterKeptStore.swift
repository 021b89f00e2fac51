import Redis
import Storage
import UV

/// Messages kept for offline devices in the fleet's Redis (`KeptScripts`), so that a device
/// coming back on any node gets them and a node that dies loses none. A keep is reported once
/// Redis ran it (Redis' own persistence, AOF, is what makes it survive Redis); expiry follows
/// Redis' clock. Messages routed to another node are kept by the route script itself
/// (`ClusterNode.route` with a ttl), which decides "offline" and keeps in one step.
public final class ClusterKeptStore: KeptMessageStore {
    private unowned let node: ClusterNode
    public var onExpired: ((String, KeptMessage) -> Void)?
    /// What Redis held in all at the last expiry sweep (the gauges read it; at most a sweep old).
    public private(set) var total = KeptAmount()
    /// The last `refreshHolding` answer (the console asks it right before a lookup).
    private var lastHolding: (recipient: String, amount: KeptAmount)?
    private var expiring = false

    public init(node: ClusterNode) {
        self.node = node
    }

    public var survivesRestart: Bool { true }

    public func keep(_ message: KeptMessage, for recipient: String, force: Bool, done: @escaping (KeepOutcome) -> Void) {
        guard node.isAvailable else { return done(.refused(.storeFailed)) }
        var arguments = [bytes(recipient), message.payload, bytes(message.sender), message.idJSON ?? []]
        if force {
            arguments += [bytes("f"), bytes(String(message.expiry)), bytes(String(message.sequence))]
        } else {
            // What is left of its ttl by this node's clock; Redis' clock sets the expiry.
            let left = max(1, message.expiry - WallClock.milliseconds())
            arguments += [bytes("n"), bytes(String(left)), []]
        }
        arguments += node.keptLimitArguments
        node.keptHints.insert(recipient)   // whoever holds it now takes it (told through its inbox)
        node.keptScripts.keepOne.run(on: node.commands, keys: [], arguments: arguments) { reply in
            done(ClusterKeptStore.outcome(reply.integer))
        }
    }

    /// A message kept in Redis only when its recipient is on no node: what the route and keep
    /// scripts' codes mean.
    static func outcome(_ code: Int64?) -> KeepOutcome {
        switch code {
        case 3: .kept
        case 4: .refused(.recipientMessages)
        case 5: .refused(.recipientBytes)
        case 6: .refused(.totalBytes)
        default: .refused(.storeFailed)
        }
    }

    /// True when the registry said something is kept for `recipient` as it claimed the device,
    /// or another node kept something for it since.
    public func mayHold(_ recipient: String) -> Bool { node.keptHints.contains(recipient) }

    public func take(for recipient: String, now: Int64, done: @escaping ([KeptMessage]) -> Void) {
        node.keptHints.remove(recipient)
        // Without Redis what is kept stays there for the next connect.
        guard node.isAvailable else { return done([]) }
        node.keptScripts.take.run(on: node.commands, keys: [], arguments: [bytes(recipient)]) { [weak self] reply in
            guard let parts = reply.elements, parts.count == 2 else { return done([]) }
            let live = (parts[0].elements ?? []).compactMap { $0.bytes.flatMap(KeptBlob.decode) }
            for message in (parts[1].elements ?? []).compactMap({ $0.bytes.flatMap(KeptBlob.decode) }) {
                self?.onExpired?(recipient, message)
            }
            done(live)
        }
    }

    public func expire(now: Int64) {
        guard !expiring, node.isAvailable else { return }
        expiring = true
        node.keptScripts.expire.run(on: node.commands, keys: [], arguments: [bytes("100")]) { [weak self] reply in
            guard let self else { return }
            expiring = false
            guard let parts = reply.elements, parts.count == 3, let pairs = parts[0].elements else { return }
            total = KeptAmount(messages: Int(parts[1].integer ?? 0), bytes: Int(parts[2].integer ?? 0))
            var index = 0
            while index + 1 < pairs.count {
                if let recipient = pairs[index].string, let message = pairs[index + 1].bytes.flatMap(KeptBlob.decode) {
                    onExpired?(recipient, message)
                }
                index += 2
            }
        }
    }

    public func drop(from sender: String, to recipient: String) {
        guard node.isAvailable else { return }
        node.keptScripts.drop.run(on: node.commands, keys: [], arguments: [bytes(sender), bytes(recipient)]) { _ in }
    }

    /// Each keep is its own script call, answered when Redis ran it: nothing to do at a tick's end.
    public func commit() {}

    public func holding(for recipient: String) -> KeptAmount {
        guard let last = lastHolding, last.recipient == recipient else { return KeptAmount() }
        return last.amount
    }

    public func refreshHolding(for recipient: String, _ done: @escaping () -> Void) {
        guard node.isAvailable else { return done() }
        node.keptScripts.holding.run(on: node.commands, keys: [], arguments: [bytes(recipient)]) { [weak self] reply in
            if let parts = reply.elements, parts.count == 2 {
                self?.lastHolding = (recipient, KeptAmount(messages: Int(parts[0].integer ?? 0), bytes: Int(parts[1].integer ?? 0)))
            }
            done()
        }
    }

    public func close() {}

}
