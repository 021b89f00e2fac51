import Storage

/// A kept message from `sender` whose payload is `text`, expiring at `expiry` (ms).
func kept(_ text: String, from sender: String = "phone-1", id: String? = nil, expiry: Int64 = 10_000) -> KeptMessage {
    Array(text.utf8).withUnsafeBytes { KeptMessage.make(payload: $0, sender: sender, idJSON: id.map { Array($0.utf8) }, expiry: expiry) }
}

func texts(_ messages: [KeptMessage]) -> [String] {
    messages.map { String(decoding: $0.payload, as: UTF8.self) }
}

/// A store for the crash models: bounds no history reaches, journaled in `state` (synced at
/// checkpoints: the models kill the process, they do not cut the power).
func openModelStore(_ state: String, now: Int64) throws -> LocalKeptStore {
    try LocalKeptStore(limits: KeptLimits(messagesPerRecipient: 10_000, bytesPerRecipient: 1 << 30, totalBytes: 1 << 40),
                       journal: SQLiteKeptJournal(directory: state, sync: .normal), now: now)
}

/// A message as a crash model expects the store to hold it.
protocol ModelMessage {
    var expiry: Int64 { get }
}

/// What of `held` is still within its time at `now`.
func live<Held: ModelMessage>(_ held: [String: [Held]], at now: Int64) -> [String: [Held]] {
    held.mapValues { $0.filter { $0.expiry > now } }.filter { !$0.value.isEmpty }
}

/// Runs a crash model's `replay` once per seed, each on a state directory of its own.
func replayEachSeed(_ seeds: ClosedRange<UInt64>, _ replay: (_ seed: UInt64, _ state: String) throws -> Void) throws {
    for seed in seeds {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try replay(seed, directory.path + "/state")
    }
}
