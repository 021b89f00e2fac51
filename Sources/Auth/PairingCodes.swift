/// One-time pairing codes a box hands out and a phone redeems.
///
/// Memory is bounded: at most `maxPerBox` unredeemed codes per box (issuing
/// another drops that box's oldest) and `maxTotal` remembered codes overall,
/// used ones included (issuing past it drops the oldest, which with one TTL
/// is the first to expire). 100,000 entries is in the order of 20 MB.
public struct PairingCodes: Sendable {
    private struct Entry: Sendable {
        let box: String
        let expiry: Int64
        let serial: UInt64
        var used = false
    }

    /// Unredeemed codes one box may hold.
    public let maxPerBox: Int
    /// Codes remembered in all, used ones included.
    public let maxTotal: Int

    private var entries: [String: Entry] = [:]
    /// Unredeemed codes of each box, oldest first.
    private var unredeemed: [String: [String]] = [:]
    /// Every issued code, oldest first; stale rows are skipped and compacted away.
    private var issueOrder: [(code: String, serial: UInt64)] = []
    private var issueOrderStart = 0
    private var nextSerial: UInt64 = 0

    /// Creates an empty set of codes.
    public init(maxPerBox: Int = 16, maxTotal: Int = 100_000) {
        precondition(maxPerBox > 0 && maxTotal > 0, "pairing code caps must be positive")
        self.maxPerBox = maxPerBox
        self.maxTotal = maxTotal
    }

    /// Codes currently remembered, used ones included.
    public var count: Int { entries.count }

    /// A new code for `box`, valid for `ttlSeconds` from `now`; `random` must give at least 12 bytes.
    public mutating func issue(box: String, now: Int64, ttlSeconds: Int64,
                               random: () -> [UInt8] = { PairingCodes.secureRandom(16) }) -> String {
        let bytes = random()
        precondition(bytes.count >= 12, "a pairing code needs at least 96 random bits")
        let code = Base64URL.encode(bytes)
        forget(code)
        if unredeemed[box, default: []].count >= maxPerBox, let oldest = unredeemed[box]?.first { forget(oldest) }
        while entries.count >= maxTotal, let oldest = popOldest() { forget(oldest) }
        compactIssueOrderIfSparse()

        let (expiry, overflow) = now.addingReportingOverflow(ttlSeconds)
        entries[code] = Entry(box: box, expiry: overflow ? .max : expiry, serial: nextSerial)
        unredeemed[box, default: []].append(code)
        issueOrder.append((code, nextSerial))
        nextSerial += 1
        return code
    }

    /// The box that issued `code`; a code works once and only before it expires.
    public mutating func redeem(_ code: String, now: Int64) -> Result<String, CodeProblem> {
        // Issued codes are short; skip hashing whatever else arrives.
        guard code.utf8.count <= 64, var entry = entries[code] else { return .failure(.unknown) }
        guard now < entry.expiry else { return .failure(.expired) }
        guard !entry.used else { return .failure(.used) }
        entry.used = true
        entries[code] = entry
        removeUnredeemed(code, of: entry.box)
        return .success(entry.box)
    }

    /// The box of `code` if it is still valid and unused, without redeeming it (e.g. to draw its QR).
    public func box(for code: String, now: Int64) -> String? {
        guard code.utf8.count <= 64, let entry = entries[code], now < entry.expiry, !entry.used else { return nil }
        return entry.box
    }

    /// Forgets codes whose expiry has passed; afterwards they count as unknown.
    public mutating func prune(now: Int64) {
        for (code, entry) in entries where now >= entry.expiry { forget(code) }
        compactIssueOrder()
    }

    private mutating func forget(_ code: String) {
        guard let entry = entries.removeValue(forKey: code) else { return }
        if !entry.used { removeUnredeemed(code, of: entry.box) }
    }

    private mutating func removeUnredeemed(_ code: String, of box: String) {
        guard var codes = unredeemed[box], let index = codes.firstIndex(of: code) else { return }
        codes.remove(at: index)
        unredeemed[box] = codes.isEmpty ? nil : codes
    }

    /// Keeps the issue order proportional to the live codes.
    private mutating func compactIssueOrderIfSparse() {
        if issueOrder.count > 2 * entries.count + 1024 { compactIssueOrder() }
    }

    private mutating func compactIssueOrder() {
        issueOrder = issueOrder[issueOrderStart...].filter { entries[$0.code]?.serial == $0.serial }
        issueOrderStart = 0
    }

    /// The oldest code still remembered, removed from the issue order.
    private mutating func popOldest() -> String? {
        while issueOrderStart < issueOrder.count {
            let row = issueOrder[issueOrderStart]
            issueOrderStart += 1
            if entries[row.code]?.serial == row.serial { return row.code }
        }
        return nil
    }
}
