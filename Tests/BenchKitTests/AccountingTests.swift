import BenchKit
import Foundation
import Testing

/// Starts faulty_server.py with one fault and returns it with its port.
private func startFaultyServer(_ fault: String) throws -> (Process, Int) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("faulty_server.py").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script]
    process.environment = ProcessInfo.processInfo.environment.merging(["FAULT": fault]) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice   // an inherited pipe would keep the test runner waiting
    try process.run()
    let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
    guard let port = Int(line.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
        stop(process)
        throw CocoaError(.fileReadCorruptFile)
    }
    return (process, port)
}

/// SIGKILL, then reap: the runner may block SIGTERM in the thread that spawned the child, and a
/// child inherits that mask, so a plain terminate() can leave it running.
private func stop(_ process: Process) {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
}

private func target(_ port: Int) -> BenchTarget {
    var target = BenchTarget()
    target.port = port
    return target
}

@Suite(.serialized) struct AccountingTests {
    @Test("route accounting", arguments: [
        ("", "lost", "0"), ("drop-message", "lost", "1"), ("duplicate-message", "duplicated", "1"),
        ("swap-messages", "reordered", "1"),
    ])
    func routeAccountingCatchesTheFault(fault: String, key: String, expected: String) throws {
        let (server, port) = try startFaultyServer(fault)
        defer { stop(server) }
        let report = try RouteScenario(pairs: 2, window: 4, rate: nil, seconds: 1).run(target: target(port))
        #expect(report.value(key) == expected, "\(fault): \(report.values)")
        if fault.isEmpty {
            #expect(report.value("duplicated") == "0")
            #expect(report.value("reordered") == "0")
            #expect(Int(report.value("sent") ?? "0")! > 0)
        }
    }

    @Test("presence accounting", arguments: [("", "missing", "0"), ("drop-presence", "missing", "1"), ("duplicate-presence", "duplicated", "1")])
    func presenceAccountingCatchesTheFault(fault: String, key: String, expected: String) throws {
        let (server, port) = try startFaultyServer(fault)
        defer { stop(server) }
        let report = try PresenceScenario(watchers: 3, devices: 2, cycles: 1, phaseTimeout: 2).run(target: target(port))
        #expect(report.value(key) == expected, "\(fault): \(report.values)")
    }
}
