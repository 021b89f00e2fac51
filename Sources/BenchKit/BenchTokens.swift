import Auth
import Glibc

/// Device tokens for token-mode runs, signed with the key file the server verifies with: an HMAC
/// secret (HS256) or an EC/RSA private key PEM (ES256/RS256). A phone's token lists its box
/// (`…phone-N` may message `…box-N`), so routing takes the same grant check a paired phone does.
public enum BenchTokens {
    public static func minter(keyFile path: String) throws -> (String) -> String {
        guard let file = fopen(path, "r") else { throw BenchTokenError("cannot read \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
        let signer: TokenSigner
        if String(decoding: bytes, as: UTF8.self).contains("PRIVATE KEY") {
            do { signer = try TokenSigner(privateKeyPEM: String(decoding: bytes, as: UTF8.self), kid: nil) } catch {
                throw BenchTokenError("\(path): \(error.message)")
            }
        } else {
            signer = TokenSigner(hmacSecret: bytes, kid: nil)
        }
        let expiry = Int64(time(nil)) + 3600
        return { id in
            let peer = id.replacingPhone()
            return signer.sign(TokenClaims(sub: id, exp: expiry, kind: peer == nil ? .box : .phone, peers: peer.map { [$0] } ?? []))
        }
    }
}

public struct BenchTokenError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    /// "pfx-phone-7" -> "pfx-box-7"; nil for ids that are not phones.
    func replacingPhone() -> String? {
        let parts = split(separator: "-", omittingEmptySubsequences: false)
        guard let index = parts.lastIndex(of: "phone") else { return nil }
        var replaced = parts
        replaced[index] = "box"
        return replaced.joined(separator: "-")
    }
}
