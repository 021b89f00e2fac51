/// A parsed HTTP/1.1 request head: request line, headers, and the decoded path and query.
public struct HTTPRequestHead: Sendable {
    public var method: String
    /// The raw request target, as sent.
    public var target: String
    /// The target's path, percent-decoded.
    public var path: String
    /// Query parameters in order, percent-decoded ('+' is a space).
    public var query: [(name: String, value: String)]
    public var versionMinor: Int
    /// Header lines in order; names are lower-cased by the parser.
    public var headers: [(name: String, value: String)]

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let wanted = lowercasedName(name)
        return headers.first { $0.name == wanted }?.value
    }

    /// Every comma-separated token of every instance of a header, lowercased.
    public func headerTokens(_ name: String) -> [Substring] {
        let wanted = lowercasedName(name)
        return headers.filter { $0.name == wanted }
            .flatMap { $0.value.lowercased().split(separator: ",") }
            .map { $0.trimmingSpaces() }
    }

    /// Callers mostly pass lower-case literals: those are used as they are, without a copy.
    private func lowercasedName(_ name: String) -> String {
        name.utf8.contains { asciiLowercased($0) != $0 } ? name.lowercased() : name
    }

    /// The credential of `Authorization: Bearer ...`, when present.
    public var bearerToken: String? {
        guard let value = header("authorization"), value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        return String(value.dropFirst(7).trimmingSpaces())
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    public var keepAlive: Bool {
        let tokens = headerTokens("connection")
        if versionMinor >= 1 { return !tokens.contains("close") }
        return tokens.contains("keep-alive")
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (optional whitespace around header values).
    public func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
