import CSSL
import Foundation

/// A test CA and server certificates signed by it, made at test time: with the `openssl`
/// command when it is installed, else with OpenSSL's C API.
struct TestPKI: Sendable {
    struct Pair: Sendable {
        let certificatePEM: [UInt8]
        let keyPEM: [UInt8]
    }

    let caPEM: [UInt8]
    let first: Pair      // CN=first.test, SAN localhost
    let second: Pair     // CN=second.test, SAN localhost

    static let shared: TestPKI = (try? commandLine()) ?? cAPI()

    /// `openssl` on the PATH, as `which openssl` finds it.
    static var openSSLCommand: String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/openssl" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// With `openssl req -x509` and `openssl x509 -req`, in a temporary directory.
    static func commandLine() throws -> TestPKI {
        guard let openssl = openSSLCommand else { throw CocoaError(.fileNoSuchFile) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        }
        func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: directory.appendingPathComponent(name))) }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try run(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                 "-subj", "/CN=Tether Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign"])
        try "subjectAltName=DNS:localhost\n".write(to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        func server(_ name: String) throws -> Pair {
            try run(["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name).test"])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "\(name).pem", "-days", "2", "-extfile", "server.ext"])
            return Pair(certificatePEM: try read("\(name).pem"), keyPEM: try read("\(name).key"))
        }
        return TestPKI(caPEM: try read("ca.pem"), first: try server("first"), second: try server("second"))
    }

    static func cAPI() -> TestPKI {
        let caKey = CertificateFactory.makeKey()
        let ca = CertificateFactory.makeCertificate(commonName: "Tether Test CA", key: caKey, issuerName: "Tether Test CA",
                                                    issuerKey: caKey, serial: 1, isCA: true)
        func server(_ name: String, serial: Int) -> Pair {
            let key = CertificateFactory.makeKey()
            let certificate = CertificateFactory.makeCertificate(commonName: "\(name).test", key: key, issuerName: "Tether Test CA",
                                                                 issuerKey: caKey, serial: serial, isCA: false)
            defer { X509_free(certificate); EVP_PKEY_free(key) }
            return Pair(certificatePEM: PEM.certificate(certificate), keyPEM: PEM.privateKey(key))
        }
        defer { X509_free(ca); EVP_PKEY_free(caKey) }
        return TestPKI(caPEM: PEM.certificate(ca), first: server("first", serial: 2), second: server("second", serial: 3))
    }
}
