import ArgumentParser
import Auth
import Foundation
import Switchboard
import TetherServer

extension Tether {
    /// Token mode's settings: keys read from their files at start (a bad file stops the start).
    func resolveTrust(_ env: EnvironmentOptions, into config: inout ServerConfig) throws {
        config.hmacKeys = try Tether.hmacKeys(authHmacKeyFile ?? env.string("AUTH_HMAC_KEY_FILE"))
        config.publicKeys = try (authPublicKeyFile ?? env.string("AUTH_PUBLIC_KEY_FILE")).map(Tether.files)?.map { path in
            let pem = try Tether.read(path, "--auth-public-key-file")
            do { return try VerificationKey.publicKey(pem: String(decoding: pem, as: UTF8.self), kid: Tether.kid(path)) } catch {
                throw ValidationError("--auth-public-key-file \(path): \((error as? KeyProblem)?.message ?? "\(error)")")
            }
        } ?? []
        let hasKeys = !config.hmacKeys.isEmpty || !config.publicKeys.isEmpty
        if let mode = auth ?? env.string("AUTH") {
            guard let parsed = AuthMode(rawValue: mode) else { throw ValidationError("auth must be open or token, not \(mode)") }
            guard parsed == .open || hasKeys else { throw ValidationError("--auth token needs --auth-hmac-key-file or --auth-public-key-file") }
            config.auth = parsed
        } else {
            config.auth = hasKeys ? .token : .open
        }
        if let path = apiKeyFile ?? env.string("API_KEY_FILE") {
            let key = Tether.trimmed(try Tether.read(path, "--api-key-file"))
            guard key.count >= 16 else { throw ValidationError("--api-key-file: the key must be at least 16 bytes") }
            config.apiKey = key
        }
        config.metricsAuth = try metricsAuth ?? env.bool("METRICS_AUTH") ?? false
        if config.metricsAuth && config.apiKey == nil { throw ValidationError("--metrics-auth needs --api-key-file") }
        config.stateDirectory = stateDir ?? env.string("STATE_DIR") ?? config.stateDirectory
        config.pairingTTLSeconds = Int64(try checkedSeconds("pairing-ttl", pairingTtl, env, "PAIRING_TTL") ?? Int(config.pairingTTLSeconds))
        config.pairedTokenTTLSeconds = Int64(try checkedSeconds("paired-token-ttl", pairedTokenTtl, env, "PAIRED_TOKEN_TTL")
            ?? Int(config.pairedTokenTTLSeconds))
    }

    private func checkedSeconds(_ name: String, _ flag: Int?, _ env: EnvironmentOptions, _ envName: String) throws -> Int? {
        guard let value = try flag ?? env.int(envName, in: 1...(10 * 366 * 86_400)) else { return nil }
        guard (1...(10 * 366 * 86_400)).contains(value) else { throw ValidationError("--\(name) must be 1...316224000 seconds") }
        return value
    }

    static func hmacKeys(_ list: String?) throws -> [HMACKey] {
        try (list.map(files) ?? []).map { path in
            let secret = trimmed(try read(path, "--auth-hmac-key-file"))
            guard secret.count >= 32 else { throw ValidationError("--auth-hmac-key-file \(path): the secret must be at least 32 bytes") }
            return HMACKey(secret: secret, kid: kid(path))
        }
    }

    static func files(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func read(_ path: String, _ flag: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(flag): cannot read \(path)") }
        return [UInt8](data)
    }

    /// A key's id is its file's name without the extension ("2026-12.key" -> "2026-12").
    static func kid(_ path: String) -> String {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return name
    }

    /// Without a trailing newline or spaces (editors add them; they are not part of the secret).
    static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { bytes.removeLast() }
        return bytes
    }
}

/// `tether token --sub box-1 --kind box --ttl 1h [--peers a,b]`: prints a token signed with the
/// configured HMAC key (trials, tests, operations).
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tether token", abstract: "Print a device token signed with the configured HMAC key.")

    @Option(help: "The device id (the token's sub).") var sub: String
    @Option(help: "box, phone or service.") var kind: String?
    @Option(help: "Lifetime: seconds, or with s, m, h or d (e.g. 1h). Default 1h.") var ttl = "1h"
    @Option(help: "Comma-separated ids it may message.") var peers: String?
    @Option(help: "HMAC key file (default: TETHER_AUTH_HMAC_KEY_FILE's first).") var authHmacKeyFile: String?

    func run() throws {
        let environment = EnvironmentOptions(ProcessInfo.processInfo.environment)
        guard let key = try Tether.hmacKeys(authHmacKeyFile ?? environment.string("AUTH_HMAC_KEY_FILE")).first else {
            throw ValidationError("no HMAC key: pass --auth-hmac-key-file or set TETHER_AUTH_HMAC_KEY_FILE")
        }
        guard DeviceID.isValid(sub) else { throw ValidationError("--sub: \(DeviceID.problem(with: sub) ?? "not a device id")") }
        guard let seconds = TokenCommand.seconds(ttl) else { throw ValidationError("--ttl: use seconds or 30s, 15m, 1h, 7d") }
        var parsedKind: DeviceKind?
        if let kind {
            guard let named = DeviceKind(rawValue: kind) else { throw ValidationError("--kind is box, phone or service") }
            parsedKind = named
        }
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(sub: sub, exp: now + seconds, iat: now, kind: parsedKind,
                                 peers: peers.map(Tether.files) ?? [])
        print(TokenSigner(hmacSecret: key.secret, kid: key.kid).sign(claims))
    }

    static func seconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = text.last, let factor = units[unit], let value = Int64(text.dropLast()), value > 0 { return value * factor }
        if let value = Int64(text), value > 0 { return value }
        return nil
    }
}
