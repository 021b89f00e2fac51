import Redis

/// The messages of one loop iteration for devices on other nodes, as `InboxRecord`s back to
/// back, and who hears how each ended.
struct RouteBatch {
    enum Waiter {
        case closure((RouteOutcome) -> Void)
        /// A connection of the server's (the delegate answers it) and the message's raw `id`.
        case sender(AnyObject, idJSON: [UInt8]?)
    }

    struct Message {
        let device: String
        /// Token mode: the recipient's grant must list this sender.
        let grantSender: String?
        /// `ttl seconds:raw id` when it is to be kept if the device is on no node; else empty.
        let keep: [UInt8]
        /// Where its record ends in `records` (it starts where the one before ends).
        let recordEnd: Int
        let waiter: Waiter
    }

    private(set) var records: [UInt8] = []
    private(set) var messages: [Message] = []
    private(set) var payloadBytes = 0

    init(reserving bytes: Int = 0) {
        records.reserveCapacity(bytes)
    }

    var isEmpty: Bool { messages.isEmpty }

    mutating func add(_ payload: UnsafeRawBufferPointer, to device: String, from sender: String, keep: KeepRequest?,
                      checkGrant: Bool, waiter: Waiter) {
        payloadBytes += payload.count
        InboxRecord.append(device: device, sender: sender, payload: payload, to: &records)
        let keepOptions = keep.map { Array("\($0.seconds):".utf8) + ($0.idJSON ?? []) } ?? []
        messages.append(Message(device: device, grantSender: checkGrant ? sender : nil, keep: keepOptions,
                                recordEnd: records.count, waiter: waiter))
    }

    /// A message of another batch, with its record as built there.
    mutating func add(record: UnsafeRawBufferPointer, of message: Message) {
        records.append(contentsOf: record)
        messages.append(Message(device: message.device, grantSender: message.grantSender, keep: message.keep,
                                recordEnd: records.count, waiter: message.waiter))
    }

    /// Message `index`'s record.
    func record(_ index: Int) -> Range<Int> {
        (index == 0 ? 0 : messages[index - 1].recordEnd)..<messages[index].recordEnd
    }

    /// The route script's per-message arguments: device, options (`g` for a grant to check, then
    /// the keep request), record.
    func scriptArguments() -> RESPCommand {
        var command = RESPCommand()
        command.reserveCapacity(records.count + messages.count * 32)
        records.withUnsafeBytes { raw in
            for index in messages.indices {
                command.append(messages[index].device)
                if messages[index].grantSender == nil {
                    messages[index].keep.withUnsafeBytes { command.append($0) }
                } else {
                    command.append([UInt8(ascii: "g")] + messages[index].keep)
                }
                command.append(UnsafeRawBufferPointer(rebasing: raw[record(index)]))
            }
        }
        return command
    }

    /// The locate script's arguments: its devices once each, then the grants to check as
    /// (device, sender) pairs once each; and for each message the index of its device and of its
    /// pair (nil without one).
    func locateArguments() -> (arguments: RESPCommand, devices: [Int], grants: [Int?]) {
        var deviceSlots: [String: Int] = [:]
        var grantSlots: [GrantCheck: Int] = [:]
        var devices: [String] = []
        var pairs: [GrantCheck] = []
        var deviceOf: [Int] = []
        var grantOf: [Int?] = []
        deviceOf.reserveCapacity(messages.count)
        grantOf.reserveCapacity(messages.count)
        for index in messages.indices {
            let device = messages[index].device
            // A sender's messages come in runs to one device: most need no hashing.
            if index > 0, device == messages[index - 1].device {
                deviceOf.append(deviceOf[index - 1])
            } else if let slot = deviceSlots[device] {
                deviceOf.append(slot)
            } else {
                deviceSlots[device] = devices.count
                deviceOf.append(devices.count)
                devices.append(device)
            }
            guard let sender = messages[index].grantSender else {
                grantOf.append(nil)
                continue
            }
            let pair = GrantCheck(device: device, sender: sender)
            if let slot = grantSlots[pair] {
                grantOf.append(slot)
            } else {
                grantSlots[pair] = pairs.count
                grantOf.append(pairs.count)
                pairs.append(pair)
            }
        }
        var arguments = RESPCommand()
        arguments.append(String(devices.count))
        for device in devices { arguments.append(device) }
        for pair in pairs {
            arguments.append(pair.device)
            arguments.append(pair.sender)
        }
        return (arguments, deviceOf, grantOf)
    }

    private struct GrantCheck: Hashable {
        let device: String
        let sender: String
    }
}
