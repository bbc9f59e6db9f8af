#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// What an engine has done since it was made (`botsession_engine_stats`): relaxed atomic
/// counters, one add per event, so counting costs no lock and almost no time, and any thread may
/// read them at any moment (the figures of one snapshot are each exact, not a consistent cut).
public final class EngineCounters: Sendable {
    let begins = Atomic<Int>(0)
    let commits = Atomic<Int>(0)
    let rollbacks = Atomic<Int>(0)
    let reads = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let deletes = Atomic<Int>(0)
    let skippedWrites = Atomic<Int>(0)
    let conflicts = Atomic<Int>(0)
    let busy = Atomic<Int>(0)
    let chatMigrations = Atomic<Int>(0)
    let chatMigrationsSkipped = Atomic<Int>(0)
    let lockWaitUs = Atomic<Int>(0)
    let storeLatency = LatencyHistogram()

    init() {}

    @inline(__always)
    static func add(_ counter: borrowing Atomic<Int>, _ n: Int = 1) {
        counter.wrappingAdd(n, ordering: .relaxed)
    }

    /// Counts a failure by its status: CONFLICT and BUSY have counters of their own.
    func failed(_ error: BotSessionError) {
        switch error.status {
        case .conflict: EngineCounters.add(conflicts)
        case .busy: EngineCounters.add(busy)
        default: break
        }
    }

    /// The counters as a JSON object, with the names the C header documents.
    public func json() -> [UInt8] {
        func value(_ counter: borrowing Atomic<Int>) -> Int { counter.load(ordering: .relaxed) }
        let fields: [(String, Int)] = [
            ("begins", value(begins)), ("commits", value(commits)), ("rollbacks", value(rollbacks)),
            ("reads", value(reads)), ("writes", value(writes)), ("deletes", value(deletes)),
            ("skipped_writes", value(skippedWrites)), ("conflicts", value(conflicts)), ("busy", value(busy)),
            ("chat_migrations", value(chatMigrations)), ("chat_migrations_skipped", value(chatMigrationsSkipped)),
            ("lock_wait_ms", value(lockWaitUs) / 1000),
        ]
        var out = "{"
        for (name, n) in fields { out += "\"\(name)\":\(n)," }
        let latency = storeLatency.summary()
        out += "\"store_latency_us\":{\"p50\":\(latency.p50),\"p99\":\(latency.p99),\"max\":\(latency.max),\"count\":\(latency.count)}}"
        return Array(out.utf8)
    }
}

/// Store operation latencies in microseconds: a log-linear histogram (four buckets per power of
/// two, so a percentile is within 25% of the true value) plus the exact maximum.
final class LatencyHistogram: Sendable {
    private static let bucketCount = 256
    private let buckets: InlineArray<256, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let largest = Atomic<Int>(0)

    /// The bucket of `us`: 0-3 exactly, then four per power of two.
    private static func bucket(_ us: Int) -> Int {
        if us < 4 { return max(0, us) }
        let exponent = Int.bitWidth - 1 - us.leadingZeroBitCount  // >= 2
        return min(bucketCount - 1, 4 * (exponent - 1) + (us >> (exponent - 2)) & 3)
    }

    /// The largest value of bucket `b`, what a percentile falling in it reports.
    private static func upperBound(_ b: Int) -> Int {
        if b < 4 { return b }
        let exponent = b / 4 + 1
        let sub = b % 4
        return ((4 + sub + 1) << (exponent - 2)) - 1
    }

    func record(_ us: Int) {
        buckets[LatencyHistogram.bucket(us)].wrappingAdd(1, ordering: .relaxed)
        var seen = largest.load(ordering: .relaxed)
        while us > seen {
            let (exchanged, original) = largest.compareExchange(expected: seen, desired: us, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    func summary() -> (p50: Int, p99: Int, max: Int, count: Int) {
        var counts = [Int](repeating: 0, count: LatencyHistogram.bucketCount)
        for b in 0..<LatencyHistogram.bucketCount { counts[b] = buckets[b].load(ordering: .relaxed) }
        let total = counts.reduce(0, +)
        let largest = self.largest.load(ordering: .relaxed)
        guard total > 0 else { return (0, 0, 0, 0) }
        func percentile(_ p: Int) -> Int {
            let rank = (total * p + 99) / 100  // the smallest value with p% at or below it
            var seen = 0
            for b in 0..<counts.count {
                seen += counts[b]
                if seen >= rank { return min(LatencyHistogram.upperBound(b), largest) }
            }
            return largest
        }
        return (percentile(50), percentile(99), largest, total)
    }
}

/// Microseconds on the monotonic clock, for latencies.
@inline(__always)
func monotonicMicros() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
}
