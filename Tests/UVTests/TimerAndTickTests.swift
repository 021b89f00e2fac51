import Testing
import UV

@Suite struct TimerAndTickTests {
    @Test func timersFireInDeadlineOrder() throws {
        let loop = try Loop()
        var fired: [Int] = []
        var timers: [Timer] = []
        for delay in [30, 10, 20, 0] {
            let timer = try Timer(loop: loop)
            timer.start(afterMilliseconds: UInt64(delay)) { fired.append(delay) }
            timers.append(timer)
        }
        loop.run()
        #expect(fired == [0, 10, 20, 30])
        try loop.close()
    }

    @Test func aRepeatingTimerFiresUntilStopped() throws {
        let loop = try Loop()
        let timer = try Timer(loop: loop)
        var count = 0
        timer.start(afterMilliseconds: 1, repeatEvery: 1) {
            count += 1
            if count == 5 { timer.stop() }
        }
        loop.run()
        #expect(count == 5)
        try loop.close()
    }

    @Test func theTickHookRunsBeforePollAndAfterIOInEveryIteration() throws {
        let loop = try Loop()
        var ticks = 0
        let hook = try TickHook(loop: loop) { ticks += 1 }
        let timer = try Timer(loop: loop)
        var timerFires = 0
        timer.start(afterMilliseconds: 1, repeatEvery: 1) { timerFires += 1 }
        var iterations = 0
        while iterations < 25 {
            loop.runOnce(wait: true)
            iterations += 1
        }
        #expect(ticks == 2 * iterations)
        #expect(timerFires > 0)
        hook.close()
        timer.close()
        try loop.close()
    }

    @Test func closingATimerFromItsOwnCallbackIsSafe() throws {
        let loop = try Loop()
        let timer = try Timer(loop: loop)
        var count = 0
        timer.start(afterMilliseconds: 1, repeatEvery: 1) {
            count += 1
            timer.close()
        }
        loop.run()
        #expect(count == 1)
        #expect(loop.openHandleCount == 0)
        try loop.close()
    }

    @Test func closeReportsLeakFreeLoopAfterClosingEverything() throws {
        let loop = try Loop()
        let timer = try Timer(loop: loop)
        timer.start(afterMilliseconds: 100_000) {}
        _ = try TickHook(loop: loop) {}
        _ = try TCPListener(loop: loop, host: "127.0.0.1", port: 0)
        _ = try TCPListener(loop: loop, host: "::", port: 0)
        #expect(loop.openHandleCount == 5)     // a tick hook is two handles (prepare and check)
        try loop.close()
    }

    @Test func reusePortLetsTwoListenersShareAPort() throws {
        let loop = try Loop()
        let first = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: true)
        let port = first.localAddress!.port
        let second = try TCPListener(loop: loop, host: "127.0.0.1", port: port, reusePort: true)
        #expect(second.localAddress?.port == port)
        #expect(throws: UVError.self) { try TCPListener(loop: loop, host: "127.0.0.1", port: port) }
        try loop.close()
    }
}
