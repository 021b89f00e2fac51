/// What sort of device a token was issued to.
public enum DeviceKind: String, Sendable, Hashable, CaseIterable {
    case box, phone, service
}
