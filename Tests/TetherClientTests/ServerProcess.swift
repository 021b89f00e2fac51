import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The built `tether` binary run for one test: TETHER_BIN, else the one beside this test bundle
/// (`swift build` puts both in the same folder). Port 0 picks a free port, read from the
/// "listening on" line. Spawned by hand, not with Foundation's Process: that passes on the test
/// runner's blocked signals, and a server that cannot see SIGTERM never drains.
final class ServerProcess: @unchecked Sendable {
    let port: Int
    private let pid: pid_t
    /// The state directory made for this server (one process per directory), removed at the end.
    private let ownState: URL?

    init(_ arguments: [String] = [], port: Int = 0) throws {
        var arguments = arguments
        if arguments.contains("--state-dir") {
            ownState = nil
        } else {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tether-client-state-\(UUID().uuidString)")
            arguments += ["--state-dir", folder.path]
            ownState = folder
        }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw ServerFailed(line: "pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = [Self.binary, "--host", "127.0.0.1", "--port", String(port)] + arguments
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, Self.binary, &actions, &attributes, &cArguments, environ)
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw ServerFailed(line: "spawn \(Self.binary): \(spawned)")
        }
        pid = child
        let reader = pipeEnds[0]
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(reader, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard let match = text.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), let listening = Int(match.output.1) else {
            kill(child, SIGKILL)
            waitpid(child, nil, 0)
            close(reader)
            throw ServerFailed(line: text)
        }
        self.port = listening
        // Its log must not fill the pipe: read it away until the server exits.
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while read(reader, &buffer, buffer.count) > 0 {}
            close(reader)
        }
    }

    var url: URL { URL(string: "ws://127.0.0.1:\(port)")! }

    /// SIGTERM: the server closes every device with 1001 and exits (killed after 10 s).
    func stop() {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == 0 else { return }
        kill(pid, SIGTERM)
        for _ in 0..<1000 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    deinit {
        stop()
        if let ownState { try? FileManager.default.removeItem(at: ownState) }
    }

    private static var binary: String {
        if let given = ProcessInfo.processInfo.environment["TETHER_BIN"] { return given }
        let tests = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return tests.deletingLastPathComponent().appendingPathComponent("tether").path
    }

    struct ServerFailed: Error { let line: String }
}

/// Token mode: an HMAC key in a temporary folder, the flags naming it, and tokens signed with it.
struct TokenKeys {
    let folder: URL
    let secret: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tether-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try Data(secret.utf8).write(to: folder.appendingPathComponent("hmac.key"))
    }

    var arguments: [String] {
        ["--auth-hmac-key-file", folder.appendingPathComponent("hmac.key").path, "--state-dir", folder.appendingPathComponent("state").path]
    }
}
