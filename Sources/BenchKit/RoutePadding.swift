/// `route --message-bytes N`: a `"data"` member that brings each routed message to about N bytes
/// with JSON shaped like an app's (an array of input events: repeated keys, varying numbers), so
/// permessage-deflate compresses it about as well as real traffic. The protocol lets other
/// members travel untouched beside `msg`.
enum RoutePadding {
    /// What `SEQ:SENDNS"}` usually takes at the end of a message (7-digit sequence, 14-digit clock).
    static let tailBytes = 24

    /// `"data":{...},` sized so that `fixedBytes` plus it plus the tail make `totalBytes` (or
    /// nothing when `totalBytes` is no more than the message already is). Deterministic per `seed`.
    static func member(totalBytes: Int, fixedBytes: Int, seed: Int) -> String {
        let budget = totalBytes - fixedBytes - tailBytes
        let opening = "\"data\":{\"events\":[", closing = "],\"note\":\"\"},"
        guard budget >= opening.utf8.count + closing.utf8.count else { return "" }
        var random = SplitMix(seed: UInt64(seed))
        let kinds = ["move", "tap", "key", "scroll", "focus"]
        let keys = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Enter", "Back", "Home"]
        var events: [String] = []
        var used = opening.utf8.count + closing.utf8.count
        var time = 1_712_345_678_000 + random.next(below: 1_000_000)
        while true {
            time += 5 + random.next(below: 400)
            let kind = kinds[random.next(below: kinds.count)]
            var event = "{\"type\":\"\(kind)\",\"t\":\(time)"
            switch kind {
            case "key": event += ",\"key\":\"\(keys[random.next(below: keys.count)])\",\"repeat\":\(random.next(below: 4) == 0)"
            case "move", "tap": event += ",\"x\":\(random.next(below: 1920)),\"y\":\(random.next(below: 1080))"
            case "scroll": event += ",\"dy\":\(Int(random.next(below: 600)) - 300)"
            default: event += ",\"id\":\"tile-\(random.next(below: 64))\""
            }
            event += "}"
            let cost = event.utf8.count + (events.isEmpty ? 0 : 1)
            guard used + cost <= budget else { break }
            events.append(event)
            used += cost
        }
        // The last few bytes: letters in a note, so the total is exact.
        let letters = Array("etaoinshrdlucmfwypvbgkqjxz")
        let note = String((0..<(budget - used)).map { _ in letters[random.next(below: 12)] })
        return opening + events.joined(separator: ",") + "],\"note\":\"" + note + "\"},"
    }
}

/// A small deterministic generator (SplitMix64), so every run pads with the same bytes.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
