import CLibUV

/// An IP address as 16 bytes (IPv4 as ::ffff:a.b.c.d), for per-address accounting and ranges.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses "192.0.2.1" or "2001:db8::1"; nil if it is neither.
    public init?(_ text: String) {
        var bytes = [UInt8](repeating: 0, count: 16)
        if text.contains(":") {
            guard uv_inet_pton(AF_INET6, text, &bytes) == 0 else { return nil }
        } else {
            var four = [UInt8](repeating: 0, count: 4)
            guard uv_inet_pton(AF_INET, text, &four) == 0 else { return nil }
            bytes[10] = 0xFF
            bytes[11] = 0xFF
            bytes.replaceSubrange(12..<16, with: four)
        }
        self.init(bytes: bytes)
    }

    init(bytes: [UInt8]) {
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Read straight from the sockaddr (no arrays: this runs for every accepted connection).
    init?(_ storage: sockaddr_storage) {
        var copy = storage
        let address: IPAddress? = withUnsafePointer(to: &copy) { pointer in
            switch Int32(storage.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    IPAddress(high: 0, low: 0xFFFF << 32 | UInt64(UInt32(bigEndian: $0.pointee.sin_addr.s_addr)))
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    withUnsafeBytes(of: $0.pointee.sin6_addr) { bytes in
                        IPAddress(high: UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
                                  low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
                    }
                }
            default:
                return nil
            }
        }
        guard let address else { return nil }
        self = address
    }

    public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    public var description: String {
        if isIPv4 { return "\(low >> 24 & 0xFF).\(low >> 16 & 0xFF).\(low >> 8 & 0xFF).\(low & 0xFF)" }
        return stride(from: 0, to: 8, by: 1).map { index -> String in
            let word = index < 4 ? high >> (48 - 16 * UInt64(index)) : low >> (48 - 16 * UInt64(index - 4))
            return String(word & 0xFFFF, radix: 16)
        }.joined(separator: ":")
    }
}

/// An address range in CIDR notation ("127.0.0.0/8", "::1/128"; a bare address is a /32 or /128).
public struct IPRange: Sendable, Equatable {
    public let network: IPAddress
    /// Prefix length over the 128-bit form (an IPv4 /8 is /104 here).
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        let width = address.isIPv4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...width).contains(parsed) else { return nil }
            length = parsed
        }
        prefix = length + (address.isIPv4 ? 96 : 0)
        network = IPRange.masked(address, prefix)
    }

    public func contains(_ address: IPAddress) -> Bool { IPRange.masked(address, prefix) == network }

    static func masked(_ address: IPAddress, _ prefix: Int) -> IPAddress {
        let highMask: UInt64 = prefix >= 64 ? ~0 : (prefix == 0 ? 0 : ~0 << (64 - UInt64(prefix)))
        let lowMask: UInt64 = prefix <= 64 ? 0 : (prefix >= 128 ? ~0 : ~0 << (128 - UInt64(prefix)))
        return IPAddress(high: address.high & highMask, low: address.low & lowMask)
    }
}

extension SocketAddress {
    /// The address without its port (nil for a family other than IPv4 and IPv6).
    public var ip: IPAddress? { IPAddress(storage) }
}

extension TCPConnection {
    /// The peer's IP address, or nil when not connected.
    public var peerIP: IPAddress? {
        peerSocketAddress.flatMap { IPAddress($0.storage) }
    }
}
