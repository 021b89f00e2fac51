import Storage

/// A kept message from `sender` whose payload is `text`, expiring at `expiry` (ms).
func kept(_ text: String, from sender: String = "phone-1", id: String? = nil, expiry: Int64 = 10_000) -> KeptMessage {
    Array(text.utf8).withUnsafeBytes { KeptMessage.make(payload: $0, sender: sender, idJSON: id.map { Array($0.utf8) }, expiry: expiry) }
}

func texts(_ messages: [KeptMessage]) -> [String] {
    messages.map { String(decoding: $0.payload, as: UTF8.self) }
}
