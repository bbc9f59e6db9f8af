/// The in-process store: a map of JSON texts, in insertion order, with an optional lifetime.
///
/// Values are copied in and out (they are immutable byte arrays), so no handler can change
/// stored data except through a write. With `ttlMs`, an entry expires `ttlMs` after its last
/// write: expired entries are invisible to every operation and are reclaimed a few at a time by
/// every operation, so memory does not wait for a read of the expired key.
public final class MemoryStore: SessionStore, @unchecked Sendable {
    private struct Entry {
        let key: SessionKey
        let value: JSONText
        /// Milliseconds since the epoch after which the entry is gone; `Int64.max` without ttl.
        let expiresAt: Int64
    }

    public let identity: String
    public let clock = ReplaceableClock()
    public let ttlMs: Int64?
    public var hasExpiry: Bool { ttlMs != nil }

    private let lock = PThreadMutex()
    /// Entries in order (insertion order; with a ttl, last-write order, which is expiry order);
    /// nil marks a removed entry until the next compaction.
    private var entries: [Entry?] = []
    /// Where each live key sits in `entries`.
    private var index: [SessionKey: Int] = [:]
    /// With a ttl: entries before this position have been checked for expiry.
    private var sweepStart = 0

    /// A new empty store. `ttlMs`, when given, must be positive.
    public init(ttlMs: Int64? = nil) {
        self.ttlMs = ttlMs
        self.identity = StoreIdentity.unique("memory:")
    }

    public func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        let now = ttlMs == nil ? 0 : now()
        return lock.withLock {
            sweep(now)
            guard let entry = live(key, now) else { return nil }
            return StoredValue(text: entry.value)
        }
    }

    public func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        let now = ttlMs == nil ? 0 : now()
        return lock.withLock {
            sweep(now)
            return live(key, now) != nil
        }
    }

    public func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        let now = ttlMs == nil ? 0 : now()
        lock.withLock { put(key, value, now) }
    }

    public func delete(_ key: SessionKey) throws(BotSessionError) {
        let now = ttlMs == nil ? 0 : now()
        lock.withLock {
            sweep(now)
            remove(key)
        }
    }

    /// All of the changes under one take of the store's lock: all or none are seen.
    public func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) {
        let now = ttlMs == nil ? 0 : now()
        lock.withLock {
            for change in changes {
                switch change {
                case .write(let key, let value, _, _): put(key, value, now)
                case .delete(let key, _): remove(key)
                }
            }
        }
    }

    public func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor {
        let now = ttlMs == nil ? 0 : now()
        let snapshot: [(key: SessionKey, value: JSONText)] = lock.withLock {
            sweep(now)
            var out: [(key: SessionKey, value: JSONText)] = []
            for case let entry? in entries where entry.expiresAt >= now && entry.key.hasPrefix(prefix) {
                out.append((entry.key, entry.value))
            }
            return out
        }
        return ArrayCursor(snapshot, owner: self)
    }

    /// The number of live entries (expired ones excluded).
    public var count: Int {
        let now = ttlMs == nil ? 0 : now()
        return lock.withLock {
            sweep(now)
            return entries.reduce(0) { $0 + (($1?.expiresAt ?? Int64.min) >= now ? 1 : 0) }
        }
    }

    // MARK: - Under the lock

    private func live(_ key: SessionKey, _ now: Int64) -> Entry? {
        guard let i = index[key], let entry = entries[i] else { return nil }
        if entry.expiresAt < now {
            remove(key)
            return nil
        }
        return entry
    }

    private func put(_ key: SessionKey, _ value: JSONText, _ now: Int64) {
        sweep(now)
        if let ttl = ttlMs {
            // With a lifetime, a write moves the entry to the end: the order stays expiry order,
            // so sweeping from the front finds every expired entry.
            remove(key)
            index[key] = entries.count
            entries.append(Entry(key: key, value: value, expiresAt: now &+ ttl))
        } else if let i = index[key] {
            entries[i] = Entry(key: key, value: value, expiresAt: Int64.max)
        } else {
            index[key] = entries.count
            entries.append(Entry(key: key, value: value, expiresAt: Int64.max))
        }
    }

    private func remove(_ key: SessionKey) {
        guard let i = index.removeValue(forKey: key) else { return }
        entries[i] = nil
        compactIfSparse()
    }

    /// Reclaims up to a few expired entries from the front of the expiry order.
    private func sweep(_ now: Int64) {
        guard ttlMs != nil else { return }
        var budget = 8
        while sweepStart < entries.count && budget > 0 {
            if let entry = entries[sweepStart] {
                if entry.expiresAt >= now { return }
                index.removeValue(forKey: entry.key)
                entries[sweepStart] = nil
            }
            sweepStart += 1
            budget -= 1
        }
        compactIfSparse()
    }

    /// Drops removed slots once they outnumber live ones, keeping the order.
    private func compactIfSparse() {
        let liveCount = index.count
        guard entries.count > 32, entries.count - liveCount > liveCount else { return }
        var kept: [Entry?] = []
        kept.reserveCapacity(liveCount * 2)
        for case let entry? in entries {
            index[entry.key] = kept.count
            kept.append(entry)
        }
        entries = kept
        sweepStart = 0
    }
}
