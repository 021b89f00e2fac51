import Testing
@testable import Console

@Suite struct ConsoleSessionsTests {
    @Test func aSessionLastsTwelveHours() {
        var sessions = ConsoleSessions()
        let (token, expires) = sessions.open(now: 1000)
        #expect(expires == 1000 + 12 * 3600)
        #expect(sessions.expiry(of: token, now: 1000 + 12 * 3600 - 1) == expires)
        #expect(sessions.expiry(of: token, now: 1000 + 12 * 3600) == nil)
        #expect(sessions.count == 0)   // an expired session is forgotten when asked about
    }

    @Test func tokensAreRandomAndLong() {
        var sessions = ConsoleSessions()
        let tokens = (0..<50).map { _ in sessions.open(now: 0).token }
        #expect(Set(tokens).count == 50)
        #expect(tokens.allSatisfy { $0.count == 48 && $0.allSatisfy(\.isHexDigit) })   // 192 bits
        #expect(sessions.expiry(of: "not-a-token", now: 0) == nil)
    }

    @Test func theCountIsBoundedTheOldestGoingFirst() {
        var sessions = ConsoleSessions(capacity: 3)
        let first = sessions.open(now: 1).token
        let later = (2...4).map { sessions.open(now: Int64($0)).token }
        #expect(sessions.count == 3)
        #expect(sessions.expiry(of: first, now: 5) == nil)
        #expect(later.allSatisfy { sessions.expiry(of: $0, now: 5) != nil })
    }

    @Test func signingOutEndsTheSession() {
        var sessions = ConsoleSessions()
        let token = sessions.open(now: 0).token
        sessions.close(token)
        #expect(sessions.expiry(of: token, now: 1) == nil)
    }
}

@Suite struct SessionCookieTests {
    @Test func findsTheSessionAmongOtherCookies() {
        #expect(SessionCookie.token(in: "a=1; tether_console=abc; b=2") == "abc")
        #expect(SessionCookie.token(in: "tether_console=abc") == "abc")
        #expect(SessionCookie.token(in: "xtether_console=abc") == nil)
        #expect(SessionCookie.token(in: "tether_console=") == nil)
        #expect(SessionCookie.token(in: nil) == nil)
    }

    @Test func theCookieIsHttpOnlyStrictAndSecureUnderTLS() {
        let plain = SessionCookie.setting("t", maxAge: 43200, secure: false)
        #expect(plain == "tether_console=t; Path=/api/console; Max-Age=43200; HttpOnly; SameSite=Strict")
        #expect(SessionCookie.setting("t", maxAge: 1, secure: true).hasSuffix("; Secure"))
        #expect(SessionCookie.clearing(secure: false).contains("Max-Age=0"))
    }
}
