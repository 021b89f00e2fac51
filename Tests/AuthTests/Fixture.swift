import Auth
import Foundation
import XCTest

/// Keys and PyJWT-minted tokens from Fixtures/tokens.json (written by Fixtures/mint.py).
struct Fixture: Decodable {
    struct Keys: Decodable {
        let hmacSecretHex: String
        let hmacOldSecretHex: String
        let ecPublicPem: String
        let rsaPublicPem: String
        let ecPrivatePem: String
        let rsaPrivatePem: String
        let ecEncryptedPrivatePem: String
        let rsa1024PublicPem: String
        let rsa1024PrivatePem: String
        let ecP384PublicPem: String
        let ecP384PrivatePem: String
        let ed25519PublicPem: String
        let ed25519PrivatePem: String
    }

    let now: Int64
    let subject: String
    let farExpiry: Int64
    let keys: Keys
    let tokens: [String: String]

    static func load() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent("tokens.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func token(_ name: String) throws -> String {
        try XCTUnwrap(tokens[name], "tokens.json has no token named \(name)")
    }

    var secret: [UInt8] { Self.bytes(hex: keys.hmacSecretHex) }
    var oldSecret: [UInt8] { Self.bytes(hex: keys.hmacOldSecretHex) }

    /// HMAC, EC and RSA keys, none named.
    func allKeys() throws -> [VerificationKey] {
        [
            .hmac(secret: secret, kid: nil),
            try .publicKey(pem: keys.ecPublicPem, kid: nil),
            try .publicKey(pem: keys.rsaPublicPem, kid: nil),
        ]
    }

    private static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)!
        }
    }
}
