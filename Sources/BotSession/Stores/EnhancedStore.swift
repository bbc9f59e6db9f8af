/// A migration: the stored value's text in, the migrated value's JSON text out, or nil for
/// "absent" (the data then reads as absent and later migrations do not run).
public typealias MigrationFunction = @Sendable (JSONText) throws(BotSessionError) -> [UInt8]?

/// grammY's `enhanceStorage`: wraps any store to add expiry and versioned migrations (SPEC §7).
///
/// Values are stored in grammY's wrapper, `{"v": version, "__d": data, "e": expiry_ms}`, with `v`
/// only when migrations are registered and `e` only with a lifetime, so a grammY bot and a
/// BotSession bot can share the data. The wrapper is built around the value's text, never by
/// re-serialising it. Data without `__d` (written before the enhancer) reads as `{"__d": data}`.
///
/// Where BotSession differs from grammY on purpose: fractional versions are exact (grammY
/// truncates them with `parseInt`); data newer than the latest migration is refused with
/// MIGRATION (grammY relabels it); legacy data stamped with an expiry is written back migrated,
/// at the latest version (grammY writes the unmigrated data).
public final class EnhancedStore: SessionStore, @unchecked Sendable {
    private struct Migration {
        let version: Double
        let migrate: MigrationFunction
    }

    /// A stored text taken apart.
    private struct Wrapper {
        /// The data's exact text.
        var data: [UInt8]
        /// `v`, when present and a number.
        var version: Double?
        /// `v`'s text when it is present but not a number: refused only where migrations must
        /// read it (with no migrations, `v` is ignored, as in grammY).
        var invalidVersion: [UInt8]?
        /// `e`, when present and a number.
        var expiresAt: Int64?
    }

    public let inner: any SessionStore
    public let ttlMs: Int64?
    /// The largest value a migration may produce (TOO_BIG above), as the engine's limit for
    /// the handler's values.
    public let maxValueBytes: Int
    public let clock = ReplaceableClock()
    /// The same data as the inner store, so the same key locks and clash checks.
    public var identity: String { inner.identity }
    public var hasExpiry: Bool { ttlMs != nil || inner.hasExpiry }

    private let lock = PThreadMutex()
    /// Sorted by version.
    private var migrations: [Migration] = []
    /// Set by the first operation: migrations must all be known before any data is read.
    private var used = false

    /// Wraps `inner`; `ttlMs`, when given, must be positive.
    public init(_ inner: any SessionStore, ttlMs: Int64? = nil, maxValueBytes: Int = 1 << 20) {
        self.inner = inner
        self.ttlMs = ttlMs
        self.maxValueBytes = maxValueBytes
    }

    /// An enhancer from its JSON options (`{"ttl_ms": N, "max_value_bytes": N}`).
    public convenience init(_ inner: any SessionStore, optionsJSON: [UInt8]?) throws(BotSessionError) {
        var options = try OptionObject(json: optionsJSON, what: "enhancer options")
        let ttl = try options.integer("ttl_ms", in: 1...Int64(Int32.max) * 1000)
        let max = try options.integer("max_value_bytes", in: 1...(1 << 30))
        try options.finish(known: ["ttl_ms", "max_value_bytes"])
        self.init(inner, ttlMs: ttl, maxValueBytes: max.map { Int($0) } ?? 1 << 20)
    }

    /// Registers the migration to `version`. Versions are real numbers and run in numeric
    /// order; a duplicate or non-finite one is INVALID_OPTION, and adding one after the store
    /// was first used is MISUSE.
    public func addMigration(version: Double, _ migrate: @escaping MigrationFunction) throws(BotSessionError) {
        guard version.isFinite else {
            throw BotSessionError(.invalidOption, "a migration version must be a finite number, not \(version)")
        }
        try lock.withLock { () throws(BotSessionError) in
            if used {
                throw BotSessionError(.misuse, "migrations must be added before the enhanced store is first used; add them right after botsession_store_enhance")
            }
            if migrations.contains(where: { $0.version == version }) {
                throw BotSessionError(.invalidOption, "there is already a migration to version \(JSNumber.format(version))")
            }
            migrations.append(Migration(version: version, migrate: migrate))
            migrations.sort { $0.version < $1.version }
        }
    }

    /// The migrations, frozen from now on.
    private func frozenMigrations() -> [Migration] {
        lock.withLock {
            used = true
            return migrations
        }
    }

    /// This store's clock when set, else the inner store's time.
    public func now() -> Int64 {
        clock.custom?() ?? inner.now()
    }

    // MARK: - Store operations

    public func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        let migrations = frozenMigrations()
        // The housekeeping a read does (deleting expired data, stamping data without an expiry)
        // is a compare-and-set on what was read: when another writer got there first, the read
        // starts over on their value instead of overwriting it.
        var attempt = 0
        while true {
            attempt += 1
            guard let raw = try inner.read(key) else { return nil }
            let expected = Expectation(read: raw)
            let wrapper = try EnhancedStore.unwrap(raw.text, key: key)
            let now = ttlMs == nil ? 0 : self.now()
            if ttlMs != nil, let expiresAt = wrapper.expiresAt, expiresAt < now {
                // Expired: gone, and deleted now (housekeeping that stands even if the update
                // rolls back).
                do throws(BotSessionError) {
                    try inner.commit([.delete(key, expecting: expected)])
                } catch where error.status == .conflict && attempt < 5 {
                    continue
                }
                return nil
            }
            guard let (value, migrated) = try migrate(wrapper, key: key, migrations) else {
                // A migration dropped the data: it reads as absent but keeps its version, so a
                // handler's commit can still replace it.
                return StoredValue(text: .null, version: raw.version, hidden: true)
            }
            // Legacy null data is stamped too, as grammY stamps it.
            guard ttlMs != nil && wrapper.expiresAt == nil else {
                return StoredValue(text: value, version: raw.version, needsWriteBack: migrated)
            }
            // Data without an expiry (legacy, or written before the lifetime was set) is stamped
            // now, migrated and at the latest version, so that it expires too.
            let stamped = wrap(value, now: now, latest: migrations.last?.version)
            do throws(BotSessionError) {
                try inner.commit([.write(key, stamped, expecting: expected)])
            } catch where error.status == .conflict && attempt < 5 {
                continue
            }
            // The version a commit must find now is the stamped one's: read it back (and start
            // over if another writer came in between).
            guard let after = try inner.read(key), after.text == stamped else {
                if attempt < 5 { continue }
                throw BotSessionError(.conflict, "the value under key \(key) keeps changing while it is read; run the handler again")
            }
            return StoredValue(text: value, version: after.version)
        }
    }

    /// Whether a read would find a value: not expired, not dropped by a migration.
    public func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        _ = frozenMigrations()
        guard let raw = try inner.read(key) else { return false }
        return try view(key, raw.text) != nil
    }

    public func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        let latest = frozenMigrations().last?.version
        try inner.write(key, wrap(value, now: ttlMs == nil ? 0 : now(), latest: latest))
    }

    public func delete(_ key: SessionKey) throws(BotSessionError) {
        _ = frozenMigrations()
        try inner.delete(key)
    }

    public func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) {
        let (base, lowered) = lower(changes)
        try base.commit(lowered, timeoutMs: timeoutMs)
    }

    public func prepare(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) -> any PreparedCommit {
        let (base, lowered) = lower(changes)
        return try base.prepare(lowered, timeoutMs: timeoutMs)
    }

    /// The changes with their values in grammY's wrapper, lowered through the inner store.
    public func lower(_ changes: [StoreChange]) -> (base: any SessionStore, changes: [StoreChange]) {
        let latest = frozenMigrations().last?.version
        let now = ttlMs == nil ? 0 : self.now()
        return inner.lower(changes.map { change in
            switch change {
            case .write(let key, let value, let expected, let required):
                .write(key, wrap(value, now: now, latest: latest), expecting: expected, required: required)
            case .delete: change
            }
        })
    }

    public func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor {
        EnhancedCursor(store: self, inner: try inner.cursor(prefix: prefix))
    }

    /// What the inner store holds under a key, taken apart for tools (the `botsession` command),
    /// without running migrations or any housekeeping.
    public struct Inspection: Sendable {
        /// The data's exact text (`__d`, or the whole text of legacy data).
        public var data: JSONText
        /// `v`, when present and a number.
        public var version: Double?
        /// `e`, when present and a number.
        public var expiresAt: Int64?
        /// Whether the value has a `v` member (a number or not).
        public var hasVersion: Bool
        /// Whether a read would find it expired (only with `ttl_ms`, as reads do).
        public var expired: Bool
    }

    /// `raw` (the inner store's text under `key`) taken apart. Nothing is read or written.
    public func inspect(_ key: SessionKey, _ raw: JSONText) throws(BotSessionError) -> Inspection {
        let wrapper = try EnhancedStore.unwrap(raw, key: key)
        let expired = ttlMs != nil && wrapper.expiresAt.map { $0 < now() } == true
        return Inspection(data: JSONText(unchecked: wrapper.data), version: wrapper.version, expiresAt: wrapper.expiresAt,
                          hasVersion: wrapper.version != nil || wrapper.invalidVersion != nil, expired: expired)
    }

    /// `value` wrapped as this store writes it, but at `version` (nil: no `v`) instead of the
    /// latest migration's, with an expiry from now when the store has `ttl_ms`: for tools that
    /// write data for a bot whose migrations they do not run.
    public func wrapped(_ value: JSONText, version: Double?) -> JSONText {
        wrap(value, now: ttlMs == nil ? 0 : now(), latest: version)
    }

    /// An entry of the inner store as this store shows it: unwrapped, migrated, nil when expired
    /// or dropped by a migration. Nothing is written (iteration and `has` only read).
    fileprivate func view(_ key: SessionKey, _ raw: JSONText) throws(BotSessionError) -> JSONText? {
        let wrapper = try EnhancedStore.unwrap(raw, key: key)
        if ttlMs != nil, let expiresAt = wrapper.expiresAt, expiresAt < now() { return nil }
        return try migrate(wrapper, key: key, frozenMigrations())?.value
    }

    // MARK: - Wrapping and migrating

    /// Runs every migration above the data's version, in order. Returns the value and whether a
    /// migration ran, or nil when a migration dropped the data (left its buffer unset or gave
    /// null). Null data stays null, and no migration runs on it.
    private func migrate(_ wrapper: Wrapper, key: SessionKey, _ migrations: [Migration]) throws(BotSessionError) -> (value: JSONText, migrated: Bool)? {
        var value = JSONText(unchecked: wrapper.data)
        if value.isNull { return (value, false) }
        // With no migrations registered, `v` is ignored, as in grammY.
        guard let latest = migrations.last?.version else { return (value, false) }
        if let text = wrapper.invalidVersion {
            throw BotSessionError(.migration, "the value under key \(key) has a version that is not a number (\(String(decoding: text.prefix(40), as: UTF8.self))); it cannot be migrated and was left as it is")
        }
        if let version = wrapper.version, version > latest {
            throw BotSessionError(.migration, "the value under key \(key) is at version \(JSNumber.format(version)), newer than the latest migration (\(JSNumber.format(latest))); it was left as it is: run a version of the bot that knows it")
        }
        var migrated = false
        for migration in migrations where wrapper.version.map({ migration.version > $0 }) ?? true {
            let label = "the migration to version \(JSNumber.format(migration.version)) of the value under key \(key)"
            let output: [UInt8]?
            do {
                output = try migration.migrate(value)
            } catch {
                throw error.prefixed(label)
            }
            guard let output else { return nil }
            if output.count > maxValueBytes {
                throw BotSessionError(.tooBig, "the result of \(label) is \(output.count) bytes, more than the enhancer's max_value_bytes (\(maxValueBytes)); nothing was written: make the migration produce less, or raise max_value_bytes in botsession_store_enhance's options")
            }
            value = try JSONText(validating: output, what: "the result of \(label)")
            if value.isNull { return nil }
            migrated = true
        }
        return (value, migrated)
    }

    /// `value` in grammY's wrapper: `{"v":latest,"__d":value,"e":now+ttl}`, each field as needed.
    private func wrap(_ value: JSONText, now: Int64, latest: Double?) -> JSONText {
        var out: [UInt8] = [0x7B]  // {
        if let latest { out += Array("\"v\":\(JSNumber.format(latest)),".utf8) }
        out += Array("\"__d\":".utf8)
        out += value.bytes
        if let ttl = ttlMs { out += Array(",\"e\":\(now &+ ttl)".utf8) }
        out.append(0x7D)  // }
        return JSONText(unchecked: out)
    }

    /// Takes a stored text apart. Anything but an object with `__d` is legacy data.
    private static func unwrap(_ text: JSONText, key: SessionKey) throws(BotSessionError) -> Wrapper {
        try text.bytes.withUnsafeBufferPointer { (p) throws(BotSessionError) -> Wrapper in
            try JSONDocument.parse(p, what: "the value under key \(key)") { (doc) throws(BotSessionError) -> Wrapper in
                // The data's own text, without whitespace around it: legacy data reads the same
                // before and after it is stamped into a wrapper.
                guard let data = doc.member(doc.root, "__d") else { return Wrapper(data: doc.raw(doc.root)) }
                var wrapper = Wrapper(data: doc.raw(data))
                if let v = doc.present(doc.root, "v") {
                    if let version = doc.number(v) {
                        wrapper.version = version
                    } else {
                        wrapper.invalidVersion = doc.raw(v)
                    }
                }
                if let e = doc.present(doc.root, "e"), let expiresAt = doc.number(e), expiresAt.isFinite {
                    wrapper.expiresAt = expiresAt >= 9.2e18 ? Int64.max : expiresAt <= -9.2e18 ? Int64.min : Int64(expiresAt)
                }
                return wrapper
            }
        }
    }
}

/// Iteration through an enhancer: the inner store's entries, unwrapped and migrated, without
/// the expired ones.
private final class EnhancedCursor: StoreCursor {
    private let store: EnhancedStore
    private let inner: any StoreCursor

    init(store: EnhancedStore, inner: any StoreCursor) {
        self.store = store
        self.inner = inner
    }

    func next() throws(BotSessionError) -> (key: SessionKey, value: JSONText)? {
        while let entry = try inner.next() {
            if let value = try store.view(entry.key, entry.value) { return (entry.key, value) }
        }
        return nil
    }
}
