#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// Expiry reads it; tests replace it to make expiry deterministic
/// (`botsession_store_set_clock`).
public typealias Clock = @Sendable () -> Int64

/// The system's real-time clock.
public let systemClock: Clock = {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Milliseconds on the monotonic clock: for deadlines and pauses, which must not jump with the
/// wall clock.
func monotonicMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// A clock that a store's owner may replace at any time, read by many threads.
public final class ReplaceableClock: @unchecked Sendable {
    public init() {}

    private let lock = PThreadMutex()
    private var clock: Clock?

    /// Sets the clock; `nil` returns to the system clock.
    public func set(_ clock: Clock?) { lock.withLock { self.clock = clock } }

    /// The clock set with `set`, if any.
    public var custom: Clock? { lock.withLock { clock } }

    public func now() -> Int64 { (custom ?? systemClock)() }
}
