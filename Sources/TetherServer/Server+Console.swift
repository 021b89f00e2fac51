import Console

extension Server {
    /// The counters the console's rates are differences of.
    func counterReading() -> CounterReading {
        var reading = CounterReading(at: loop.now)
        reading.deviceConnects = metrics.deviceConnects
        reading.deviceDisconnects = metrics.deviceDisconnectsTotal
        reading.messagesRouted = metrics.messagesRouted
        for (status, count) in metrics.routingErrors where CounterReading.replyStatuses.contains(status) {
            reading.replies[status] = count
        }
        reading.slowConsumerCloses = metrics.slowConsumerCloses
        reading.rateLimitCloses = metrics.rateLimitCloses
        reading.authFailures = metrics.authFailures.values.reduce(0, +) + metrics.apiKeyFailures
        return reading
    }

    func consoleGauges() -> ConsoleGauges {
        ConsoleGauges(devices: ledger?.counts ?? [0, 0, switchboard.deviceCount], connections: connectionCount,
                      queuedBytes: queuedBytes())
    }

    /// Bytes held for devices that the kernel has not taken: one look per device, asked once a
    /// second while a console is open and at each scrape, never per message.
    func queuedBytes() -> Int {
        var total = 0
        switchboard.forEachPeer { total += $0.queuedBytes }
        return total
    }
}
