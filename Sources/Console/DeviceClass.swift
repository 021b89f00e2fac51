/// How the console groups the devices online: by the token's `kind`, else by the id's prefix
/// (the pages name theirs `box-...` and `phone-...`), else "other".
public enum DeviceClass: UInt8, CaseIterable, Sendable {
    case box, phone, other

    /// `kind` is the token's claim (token mode), nil when there is none.
    public init(kind: String?, id: String) {
        switch kind {
        case "box": self = .box
        case "phone": self = .phone
        case .some: self = .other   // a service
        case nil: self = id.hasPrefix("box-") ? .box : id.hasPrefix("phone-") ? .phone : .other
        }
    }

    public var name: String {
        switch self {
        case .box: "box"
        case .phone: "phone"
        case .other: "other"
        }
    }
}
