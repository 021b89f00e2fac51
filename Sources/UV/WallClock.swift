import Glibc

/// The wall clock (what expiries and event times are kept in), as opposed to the loop's
/// monotonic clock (what timers and deadlines run on).
public enum WallClock {
    /// Milliseconds since 1970.
    public static func milliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
