import Auth

/// Signed-in consoles: a random token per sign-in (the session cookie's value), kept here with
/// its expiry. Bounded: past `capacity` the session closest to expiry makes room, so repeated
/// sign-ins cannot grow memory.
public struct ConsoleSessions: Sendable {
    public static let lifetimeSeconds: Int64 = 12 * 3600
    /// 192 random bits, as hex.
    public static let tokenBytes = 24
    public let capacity: Int
    private var expiries: [String: Int64] = [:]

    public init(capacity: Int = 64) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { expiries.count }

    /// A new session at wall-clock `now` (Unix seconds): its token and expiry.
    public mutating func open(now: Int64) -> (token: String, expires: Int64) {
        prune(now: now)
        if expiries.count >= capacity, let soonest = expiries.min(by: { $0.value < $1.value })?.key {
            expiries[soonest] = nil
        }
        let token = PairingCodes.secureRandom(Self.tokenBytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        let expires = now + Self.lifetimeSeconds
        expiries[token] = expires
        return (token, expires)
    }

    /// The expiry of session `token` if it is open at `now`; an expired one is forgotten.
    public mutating func expiry(of token: String, now: Int64) -> Int64? {
        guard let expires = expiries[token] else { return nil }
        guard expires > now else {
            expiries[token] = nil
            return nil
        }
        return expires
    }

    public mutating func close(_ token: String) {
        expiries[token] = nil
    }

    private mutating func prune(now: Int64) {
        expiries = expiries.filter { $0.value > now }
    }
}
