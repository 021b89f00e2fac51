import Foundation
import TetherClient

/// Everything a stream yields, gathered by a task of its own, so a test can wait for an element
/// without cancelling a pending `next()` (which would end an AsyncStream).
final class Recorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    init(_ stream: AsyncStream<Element>) {
        Task { [self] in
            for await element in stream { append(element) }
        }
    }

    private func append(_ element: Element) {
        lock.withLock { items.append(element) }
    }

    var all: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }

    /// The first element gathered (from the start) that `test` accepts, waiting up to `seconds`.
    func first(within seconds: Double = 10, where test: (Element) -> Bool = { _ in true }) async -> Element? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let found = all.first(where: test) { return found }
            try? await Task.sleep(for: .milliseconds(10))
        } while Date() < deadline
        return nil
    }

    /// Waits until `test` holds for everything gathered so far; false after `seconds`.
    func wait(within seconds: Double = 10, until test: ([Element]) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if test(all) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        } while Date() < deadline
        return false
    }
}

/// Waits until the client's link is open.
func opened(_ client: TetherClient, within seconds: Double = 10) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if await client.isConnected() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    } while Date() < deadline
    return false
}
