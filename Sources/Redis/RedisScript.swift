import SHA1

/// A Lua script called by its SHA-1 (EVALSHA), so each call sends the hash, not the source.
///
/// The source is loaded (SCRIPT LOAD, pipelined ahead of the call) the first time a script runs
/// on each connect of a link, since a restarted Redis has no scripts; a NOSCRIPT reply (after
/// SCRIPT FLUSH) loads it and retries once.
public final class RedisScript {
    public let source: [UInt8]
    /// 40 lowercase hex digits, as Redis names the script.
    public let sha1: [UInt8]
    /// Per link, the connection epoch in which the source was last sent.
    private var loadedIn: [ObjectIdentifier: Int] = [:]

    public init(_ source: String) {
        self.source = Array(source.utf8)
        sha1 = SHA1Digest.hexDigest(self.source)
    }

    /// Runs the script with `keys` (KEYS[1...]) and `arguments` (ARGV[1...]).
    public func run(on connection: RedisConnection, keys: [[UInt8]], arguments: [[UInt8]] = [],
                    reply: @escaping (RedisReply) -> Void) {
        run(on: connection, keys: keys, arguments: [RESPCommand(arguments)], reply: reply)
    }

    /// As `run(on:keys:arguments:reply:)` with the arguments already encoded, in parts.
    public func run(on connection: RedisConnection, keys: [[UInt8]], arguments: [RESPCommand],
                    reply: @escaping (RedisReply) -> Void) {
        let command = [RESPCommand([Word.evalsha, sha1, Array(String(keys.count).utf8)] + keys)] + arguments
        let link = ObjectIdentifier(connection)
        if connection.isConnected && loadedIn[link] != connection.connectionEpoch {
            loadedIn[link] = connection.connectionEpoch
            connection.send([Word.script, Word.load, source]) { _ in }
        }
        connection.send(command) { [weak connection, source] answer in
            guard answer.isError(code: "NOSCRIPT"), let connection else { return reply(answer) }
            var loadError: RedisReply?
            connection.send([Word.script, Word.load, source]) { loaded in
                if loaded.isError { loadError = loaded }
            }
            // A source Redis refuses (a Lua syntax error) is reported as such, not as NOSCRIPT.
            connection.send(command) { retried in reply(retried.isError(code: "NOSCRIPT") ? loadError ?? retried : retried) }
        }
    }

    private enum Word {
        static let evalsha = Array("EVALSHA".utf8)
        static let script = Array("SCRIPT".utf8)
        static let load = Array("LOAD".utf8)
    }
}
