#if canImport(Glibc)
import CSSL
import Foundation
import Glibc
import Testing
import TLS

/// Memory per idle TLS session: N sessions each complete a handshake and pass one small message
/// both ways, then sit idle. Run by hand (it prints; it asserts nothing tight):
/// `TLS_IDLE_SESSIONS=10000 swift test --filter IdleMemoryMeasurement` (numbers in the report of issue 16).
@Suite struct IdleMemoryMeasurement {
    static let sessions = Int(ProcessInfo.processInfo.environment["TLS_IDLE_SESSIONS"] ?? "") ?? 0
    /// TLS_IDLE_VERSION=1.2 measures TLS 1.2 sessions instead of 1.3.
    static let tls12 = ProcessInfo.processInfo.environment["TLS_IDLE_VERSION"] == "1.2"

    @Test(.enabled(if: sessions > 0)) func memoryPerIdleSession() throws {
        let pair = TestPKI.shared.first
        let context = try TLSContext(certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
        func connect() throws -> TLSSession {
            var options = TestClient.Options()
            if Self.tls12 { options.maxVersion = TLS1_2_VERSION }
            let link = Link(context: context, client: TestClient(options))
            try #require(link.handshake())
            link.client.write(Array(#"{"from":"phone-1","to":"box-1","msg":"hello"}"#.utf8))
            link.toServer()
            try Array(#"{"from":"box-1","to":"phone-1","msg":"hi"}"#.utf8).withUnsafeBytes { try link.server.write($0) }
            link.toClient()
            _ = link.client.read()
            return link.server
        }
        _ = try connect()   // OpenSSL's one-time setup is not a session's cost
        let heapBefore = heapInUse()
        let residentBefore = residentBytes()
        var idle: [TLSSession] = []
        idle.reserveCapacity(Self.sessions)
        for _ in 0..<Self.sessions { idle.append(try connect()) }
        let heap = (heapInUse() - heapBefore) / Self.sessions
        let resident = (residentBytes() - residentBefore) / Self.sessions
        print("TLS idle sessions: \(Self.sessions) (\(idle[0].protocolVersion)); heap in use per session: \(heap) B; resident per session: \(resident) B")
        #expect(idle.allSatisfy { $0.handshakeDone })
    }

    /// glibc's "in use bytes" (incl. mmap), from malloc_stats, which only writes to stderr.
    private func heapInUse() -> Int {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tether-malloc-\(UUID().uuidString)").path
        defer { unlink(path) }
        fflush(nil)
        let saved = dup(2)
        let file = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        dup2(file, 2)
        mallocStats()
        fflush(nil)
        dup2(saved, 2)
        close(file)
        close(saved)
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard let total = text.range(of: "Total (incl. mmap):") else { return 0 }
        let inUse = text[total.upperBound...].split(separator: "\n").first { $0.contains("in use bytes") }
        return Int(inUse?.split(separator: "=").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
    }

    private func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

@_silgen_name("malloc_stats") private func mallocStats()
#endif
