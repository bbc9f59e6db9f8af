#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process-wide per-key locks that serialise updates of one session (SPEC §8).
///
/// A lock is named by (the store's identity, the key's bytes), so two store handles on one
/// database share locks. `begin` takes all of an update's locks in one global order, so updates
/// with several fragments cannot deadlock. An entry exists only while its key is held or
/// awaited: memory does not grow with the number of keys ever seen.
final class KeyLocks: @unchecked Sendable {
    static let shared = KeyLocks()

    /// A lock's name: the store's identity and the key's bytes.
    struct Name: Hashable, Comparable {
        let store: String
        let key: SessionKey

        static func < (a: Name, b: Name) -> Bool {
            a.store != b.store ? a.store.utf8.lexicographicallyPrecedes(b.store.utf8) : a.key < b.key
        }
    }

    private final class Entry {
        var held = true
        var waiters = 0
        /// Made by the first waiter: most keys are never contended, and they cost no condition.
        private var condition: UnsafeMutablePointer<pthread_cond_t>?

        var waitCondition: UnsafeMutablePointer<pthread_cond_t> {
            if let condition { return condition }
            let made = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
            made.initialize(to: pthread_cond_t())
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            pthread_cond_init(made, &attributes)
            pthread_condattr_destroy(&attributes)
            condition = made
            return made
        }

        func signal() {
            if let condition { pthread_cond_signal(condition) }
        }

        /// Set in a forked child: the condition may count waiters of the parent's threads, and
        /// destroying it could wait for them for ever, so it is left as it is.
        var abandoned = false

        deinit {
            if let condition, !abandoned {
                pthread_cond_destroy(condition)
                condition.deallocate()
            }
        }
    }

    /// Guards everything below; waiting releases it (pthread_cond_timedwait).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var entries: [Name: Entry] = [:]

    private init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    // fork() (ForkGeneration's handler): the table is held across the fork, then released in
    // the parent; the child starts with no key held, since the parent's threads that held keys
    // are not there (SPEC §8). A child with fresh handles never waits for a parent's key.
    func lockForFork() { pthread_mutex_lock(mutex) }
    func unlockAfterFork() { pthread_mutex_unlock(mutex) }

    /// In a forked child: every key free, the mutex new.
    func resetInChild() {
        pthread_mutex_init(mutex, nil)
        for entry in entries.values { entry.abandoned = true }
        entries.removeAll()
    }

    /// Takes every lock in `names` (sorted, no duplicates), waiting at most `timeoutMs` in all.
    /// On BUSY, none is held. `counters` get the time spent waiting (the clock is read only
    /// when a lock is held by another update).
    func acquire(_ names: [Name], timeoutMs: Int64, counters: EngineCounters? = nil,
                 describe: (Name) -> String) throws(BotSessionError) {
        guard !names.isEmpty else { return }
        ForkGeneration.protectProcessWideMutexes()
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var deadline: timespec?
        for (index, name) in names.enumerated() {
            guard let entry = entries[name] else {
                entries[name] = Entry()
                continue
            }
            if !entry.held {
                entry.held = true
                continue
            }
            if deadline == nil { deadline = KeyLocks.deadline(afterMs: timeoutMs) }
            let waitStart = timeoutMs > 0 ? monotonicMicros() : 0  // timeout 0: no wait to time
            defer { if timeoutMs > 0 { counters?.lockWaitUs.wrappingAdd(monotonicMicros() - waitStart, ordering: .relaxed) } }
            entry.waiters += 1
            var timedOut = false
            while entry.held && !timedOut {
                if timeoutMs == 0 {
                    timedOut = true
                } else {
                    // Outside the fork barrier while waiting (a fork need not wait for this
                    // wait), and back in only without the mutex, which fork()'s handler takes
                    // after closing the barrier.
                    let condition = entry.waitCondition
                    let result = ForkBarrier.outside { () -> Int32 in
                        let result = pthread_cond_timedwait(condition, mutex, &deadline!)
                        pthread_mutex_unlock(mutex)
                        return result
                    }
                    pthread_mutex_lock(mutex)
                    if result == ETIMEDOUT { timedOut = entry.held }
                }
            }
            entry.waiters -= 1
            if timedOut {
                if entry.waiters == 0 && !entry.held { entries.removeValue(forKey: name) }
                for taken in names[..<index] { releaseLocked(taken) }
                throw BotSessionError(.busy, "timed out after \(timeoutMs) ms waiting for \(describe(name)), which another update holds; commit or roll back that update, or raise lock_timeout_ms")
            }
            entry.held = true
        }
    }

    /// Releases every lock in `names`.
    func release(_ names: [Name]) {
        guard !names.isEmpty else { return }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        for name in names { releaseLocked(name) }
    }

    private func releaseLocked(_ name: Name) {
        guard let entry = entries[name] else { return }
        if entry.waiters == 0 {
            entries.removeValue(forKey: name)
        } else {
            entry.held = false
            entry.signal()
        }
    }

    /// How many keys are held or awaited right now (for tests: idle keys take no memory).
    var activeCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return entries.count
    }

    private static func deadline(afterMs ms: Int64) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanos = Int64(now.tv_nsec) + (ms % 1000) * 1_000_000
        return timespec(tv_sec: now.tv_sec + Int(ms / 1000) + Int(nanos / 1_000_000_000),
                        tv_nsec: Int(nanos % 1_000_000_000))
    }
}
