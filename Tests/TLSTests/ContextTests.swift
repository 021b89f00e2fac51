import Foundation
import Testing
import TLS

@Suite struct ContextTests {
    let pki = TestPKI.shared

    @Test func keyOfAnotherCertificateIsRefused() {
        #expect {
            try TLSContext(certificatePEM: pki.first.certificatePEM, keyPEM: pki.second.keyPEM)
        } throws: { error in
            guard case TLSContextError.keyDoesNotMatchCertificate = error else { return false }
            return true
        }
    }

    @Test func textWithoutACertificateIsRefused() {
        #expect {
            try TLSContext(certificatePEM: Array("not a certificate".utf8), keyPEM: pki.first.keyPEM)
        } throws: { error in
            guard case TLSContextError.invalidCertificate = error else { return false }
            return true
        }
    }

    @Test func textWithoutAKeyIsRefused() {
        #expect {
            try TLSContext(certificatePEM: pki.first.certificatePEM, keyPEM: pki.first.certificatePEM)
        } throws: { error in
            guard case TLSContextError.invalidKey = error else { return false }
            return true
        }
    }

    @Test func brokenChainCertificateIsRefused() {
        let broken = pki.first.certificatePEM + Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
        #expect {
            try TLSContext(certificatePEM: broken, keyPEM: pki.first.keyPEM)
        } throws: { error in
            guard case TLSContextError.invalidCertificate = error else { return false }
            return true
        }
    }

    @Test func missingFileIsNamedInTheError() {
        #expect {
            try TLSContext(certificateFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem")
        } throws: { error in
            guard case TLSContextError.unreadableFile(let path, _) = error else { return false }
            return path == "/nonexistent/cert.pem"
        }
    }

    @Test func pairFromFilesAndAChainServe() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-tls-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("chain.pem")
        let key = directory.appendingPathComponent("key.pem")
        try Data(pki.first.certificatePEM + pki.caPEM).write(to: certificate)
        try Data(pki.first.keyPEM).write(to: key)
        let link = Link(context: try TLSContext(certificateFile: certificate.path, keyFile: key.path))
        #expect(link.handshake())
        #expect(link.client.verifiedChain)
    }

    @Test(.enabled(if: TestPKI.openSSLCommand != nil)) func encryptedKeyFailsWithoutAskingForAPassphrase() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tether-tls-enc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(pki.first.keyPEM).write(to: directory.appendingPathComponent("plain.key"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPKI.openSSLCommand!)
        process.arguments = ["pkey", "-in", "plain.key", "-aes256", "-passout", "pass:secret", "-out", "encrypted.key"]
        process.currentDirectoryURL = directory
        try process.run()
        process.waitUntilExit()
        let encrypted = Array(try Data(contentsOf: directory.appendingPathComponent("encrypted.key")))
        #expect {
            try TLSContext(certificatePEM: pki.first.certificatePEM, keyPEM: encrypted)
        } throws: { error in
            guard case TLSContextError.invalidKey = error else { return false }
            return true
        }
    }
}
