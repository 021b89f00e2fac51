/// The replies about kept messages (status 8, the bound's status 5, the two receipts), written
/// straight into a buffer: one goes out per kept message, so no String is built for it. The
/// same bytes as the `Reply` of the same name (`Reply.queued`, ...).
public struct KeptReply {
    public enum Kind {
        case queued, queueFull, delivered, expired
    }

    public let kind: Kind
    /// A device id (checked or registered): JSON-safe as it is.
    public let recipient: String
    public let idJSON: [UInt8]?

    public init(_ kind: Kind, recipient: String, idJSON: [UInt8]?) {
        self.kind = kind
        self.recipient = recipient
        self.idJSON = idJSON
    }

    public var status: Status {
        switch kind {
        case .queued: .queued
        case .queueFull: .recipientBusy
        case .delivered: .ok
        case .expired: .targetOffline
        }
    }

    private static func head(_ kind: Kind) -> StaticString {
        switch kind {
        case .queued: #"{"status":8,"message":"queued","data":{""#
        case .queueFull: #"{"status":5,"message":"offline queue full","data":{""#
        case .delivered: #"{"status":0,"message":"delivered","data":{""#
        case .expired: #"{"status":1,"message":"expired","data":{""#
        }
    }

    private static func state(_ kind: Kind) -> StaticString { kind == .delivered ? #"":"online"}"# : #"":"offline"}"# }
    private static let idLabel: StaticString = #","id":"#

    /// The length of a reply of `kind` naming a recipient of `recipientCount` bytes and an id of
    /// `idCount` bytes (nil: none).
    public static func count(_ kind: Kind, recipientCount: Int, idCount: Int?) -> Int {
        head(kind).utf8CodeUnitCount + recipientCount + state(kind).utf8CodeUnitCount + (idCount.map { idLabel.utf8CodeUnitCount + $0 } ?? 0) + 1
    }

    /// Where the recipient starts in a reply of `kind`.
    public static func recipientOffset(_ kind: Kind) -> Int { head(kind).utf8CodeUnitCount }

    /// Writes the reply of `kind` for these bytes at `destination` (room for `count(...)` bytes);
    /// returns its length. The replies per kept message are built this way, with no String.
    @discardableResult
    public static func write(_ kind: Kind, recipient: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer?,
                             into destination: UnsafeMutableRawPointer) -> Int {
        var at = destination
        func put(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            at.copyMemory(from: base, byteCount: bytes.count)
            at += bytes.count
        }
        func put(_ text: StaticString) { put(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
        put(head(kind))
        put(recipient)
        put(state(kind))
        if let id {
            put(idLabel)
            put(id)
        }
        at.storeBytes(of: UInt8(ascii: "}"), as: UInt8.self)
        return at + 1 - destination
    }

    /// Lends the reply's bytes to `body` (valid only during the call).
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var recipient = recipient
        return recipient.withUTF8 { id in
            let count = Self.count(kind, recipientCount: id.count, idCount: idJSON?.count)
            return withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
                if let idJSON {
                    _ = idJSON.withUnsafeBytes { Self.write(kind, recipient: UnsafeRawBufferPointer(id), id: $0, into: buffer.baseAddress!) }
                } else {
                    Self.write(kind, recipient: UnsafeRawBufferPointer(id), id: nil, into: buffer.baseAddress!)
                }
                return body(UnsafeRawBufferPointer(buffer))
            }
        }
    }
}
