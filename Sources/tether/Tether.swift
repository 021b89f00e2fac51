import ArgumentParser
import Foundation
import TetherServer

/// `tether`: flags, each also settable as TETHER_<FLAG> (flags win), then the server runs.
@main
struct Tether: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A WebSocket server that lets set-top boxes and phones find and message each other."
    )

    @Option(help: "Address to listen on (env TETHER_HOST). Default 0.0.0.0.")
    var host: String?

    @Option(help: "TCP port; 0 picks a free one (env TETHER_PORT). Default 8080.")
    var port: Int?

    @Option(help: "Largest WebSocket message in bytes; larger closes with 1009 (env TETHER_MAX_MESSAGE_BYTES). Default 1048576.")
    var maxMessageBytes: Int?

    @Flag(inversion: .prefixedNo, help: "Serve the /echo WebSocket endpoint for conformance tests (env TETHER_ECHO). Default off.")
    var echo: Bool?

    mutating func run() throws {
        let environment = EnvironmentOptions(ProcessInfo.processInfo.environment)
        var config = ServerConfig()
        config.host = host ?? environment.string("HOST") ?? config.host
        config.port = try port ?? environment.int("PORT", in: 0...65535) ?? config.port
        config.maxMessageBytes = try maxMessageBytes ?? environment.int("MAX_MESSAGE_BYTES", in: 1...(1 << 30)) ?? config.maxMessageBytes
        config.echo = try echo ?? environment.bool("ECHO") ?? config.echo
        try validate(config)

        let server = try Server(config: config)
        let address = try server.start()
        print("tether listening on \(address)")
        fflush(nil)
        try server.run()
    }

    private func validate(_ config: ServerConfig) throws {
        guard (0...65535).contains(config.port) else { throw ValidationError("--port must be 0...65535") }
        guard config.maxMessageBytes >= 1 else { throw ValidationError("--max-message-bytes must be positive") }
    }
}
