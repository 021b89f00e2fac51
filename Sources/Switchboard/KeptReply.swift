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

    private var head: StaticString {
        switch kind {
        case .queued: #"{"status":8,"message":"queued","data":{""#
        case .queueFull: #"{"status":5,"message":"offline queue full","data":{""#
        case .delivered: #"{"status":0,"message":"delivered","data":{""#
        case .expired: #"{"status":1,"message":"expired","data":{""#
        }
    }

    private var state: StaticString { kind == .delivered ? #"":"online"}"# : #"":"offline"}"# }

    /// Lends the reply's bytes to `body` (valid only during the call).
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var recipient = recipient
        return recipient.withUTF8 { id in
            let head = head, state = state
            let idPart = idJSON.map { 6 + $0.count } ?? 0   // ,"id":
            let count = head.utf8CodeUnitCount + id.count + state.utf8CodeUnitCount + idPart + 1
            return withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
                var at = buffer.baseAddress!
                func put(_ bytes: UnsafeRawBufferPointer) {
                    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
                    at.copyMemory(from: base, byteCount: bytes.count)
                    at += bytes.count
                }
                put(UnsafeRawBufferPointer(start: head.utf8Start, count: head.utf8CodeUnitCount))
                put(UnsafeRawBufferPointer(id))
                put(UnsafeRawBufferPointer(start: state.utf8Start, count: state.utf8CodeUnitCount))
                if let idJSON {
                    let label: StaticString = #","id":"#
                    put(UnsafeRawBufferPointer(start: label.utf8Start, count: label.utf8CodeUnitCount))
                    idJSON.withUnsafeBytes { put($0) }
                }
                at.storeBytes(of: UInt8(ascii: "}"), as: UInt8.self)
                return body(UnsafeRawBufferPointer(buffer))
            }
        }
    }
}
