import Foundation

/// A redis-server run by a test on a free loopback port, with nothing saved to disk. It can be
/// killed, frozen (SIGSTOP) and started again on the same port. REDIS_SERVER names the binary.
final class RedisServer: @unchecked Sendable {
    let port: Int
    private let folder: URL
    private var process: Process?
    private var frozen = false

    init() throws {
        port = try Self.freePort()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tether-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Starts (again) on `port` and waits until it accepts connections.
    func start() throws {
        let log = folder.appendingPathComponent("redis-\(UUID().uuidString).log")
        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", folder.path, "--logfile", log.path, "--daemonize", "no"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let started = Date()
        while Date().timeIntervalSince(started) < 10 {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("Ready to accept connections") { return }
            guard process.isRunning else { break }
            usleep(10_000)
        }
        stop()
        throw Failed(log: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    /// kill -9: no goodbye to any client.
    func kill() {
        guard let process else { return }
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        frozen = false
        self.process = nil
    }

    /// SIGSTOP: sockets stay open (the kernel even accepts new ones), nothing is answered.
    func freeze() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGSTOP)
        frozen = true
    }

    func thaw() {
        guard let process, frozen else { return }
        Foundation.kill(process.processIdentifier, SIGCONT)
        frozen = false
    }

    /// SIGKILL too: nothing is saved, and a child of a test thread inherits its blocked SIGTERM.
    func stop() { kill() }

    /// REDIS_SERVER, else `redis-server` found on PATH (Debian package `redis-server`).
    private static func binary() throws -> URL {
        if let given = ProcessInfo.processInfo.environment["REDIS_SERVER"] { return URL(fileURLWithPath: given) }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("redis-server")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Failed(log: "redis-server not found on PATH: install the Debian package redis-server")
    }

    /// A port the kernel just handed out (bound to port 0, then released).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed(log: "socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                bind(fd, sockaddr, length) == 0 && getsockname(fd, sockaddr, &length) == 0
            }
        }
        guard bound else { throw Failed(log: "bind") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct Failed: Error { let log: String }
}
