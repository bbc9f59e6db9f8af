/// One update being handled: the sessions it reads and what the handler does to them, written
/// back by `commit` (SPEC §5).
///
/// It belongs to one thread at a time. It holds its sessions' key locks until `commit` or
/// `rollback` (or until it is dropped, which rolls back).
public final class SessionUpdate {
    /// One fragment's session in this update.
    struct Slot {
        let fragment: Engine.Fragment
        let key: SessionKey?
        /// Whether the store has been read (at begin for strict fragments, first get for lazy).
        var loaded = false
        /// What the store held when read; nil when absent (a stored `null` counts as absent).
        var stored: StoredValue?
        /// Whether the store holds data that reads as absent (`StoredValue.hidden`): only the
        /// handler's `set` or `clear` replaces it, not the initial value.
        var storedHidden = false
        /// What commit must still find in the store (the version read, or absence); `.any`
        /// until the session is read, and for stores that keep no versions.
        var expectation = Expectation.any
        /// What `get` returns now; nil for none.
        var current: JSONText?
        /// Whether `current` came from the initial value.
        var initialApplied = false
        /// Whether the handler called `set` (or `clear`).
        var wasSet = false
        /// Whether the handler called `get` or `set`.
        var touched = false

        var store: any SessionStore { fragment.store! }
    }

    private let engine: Engine
    private var slots: [Slot]
    private let locks: [KeyLocks.Name]
    private var finished = false
    /// The chat migration this update announces, until it has run: before the first read (at
    /// `begin`, or in `read()` for an update begun without reading), else before a lazy read or
    /// the commit, so the handler never sees the old chat's sessions missing.
    private var pendingMigration: ChatMigration?

    init(engine: Engine, fragments: [Engine.Fragment], keys: [SessionKey?], locks: [KeyLocks.Name],
         migration: ChatMigration? = nil) {
        self.engine = engine
        self.locks = locks
        pendingMigration = migration
        slots = zip(fragments, keys).map { Slot(fragment: $0, key: $1) }
    }

    deinit {
        if !finished { KeyLocks.shared.release(locks) }
    }

    /// Reads every strict fragment that has a key and is not read (or set) yet.
    func loadStrictFragments() throws(BotSessionError) {
        try followMigration()
        for i in slots.indices where !slots[i].fragment.options.lazy && slots[i].key != nil && !slots[i].loaded && !slots[i].wasSet {
            try load(i)
        }
    }

    /// Reads the strict fragments of an update begun with `reading: false` (`Engine.begin`);
    /// nothing when they are read already. After a failure, roll the update back.
    public func read() throws(BotSessionError) {
        try checkOpen()
        try loadStrictFragments()
    }

    /// Moves the announced chat migration's sessions, once, with this update's keys held.
    private func followMigration() throws(BotSessionError) {
        guard let migration = pendingMigration else { return }
        _ = try engine.migrateChat(migration, holding: locks)
        pendingMigration = nil
    }

    /// Reads slot `i`'s session and applies the initial value when the store has none.
    private func load(_ i: Int) throws(BotSessionError) {
        try followMigration()
        let fragment = slots[i].fragment
        do throws(BotSessionError) {
            let counters = engine.counters
            EngineCounters.add(counters.reads)
            let started = monotonicMicros()
            let found: StoredValue?
            do throws(BotSessionError) {
                defer { counters.storeLatency.record(monotonicMicros() - started) }
                found = try slots[i].store.read(slots[i].key!)
            } catch {
                counters.failed(error)
                throw error
            }
            slots[i].expectation = Expectation(read: found)
            slots[i].storedHidden = found?.hidden ?? false
            let stored = found?.text.isNull == true ? nil : found
            slots[i].stored = stored
            slots[i].current = stored?.text
            if stored == nil, let initial = try initialValue(fragment) {
                slots[i].current = initial
                slots[i].initialApplied = true
            }
            slots[i].loaded = true
        } catch {
            throw fragment.context(error)
        }
    }

    private func initialValue(_ fragment: Engine.Fragment) throws(BotSessionError) -> JSONText? {
        switch fragment.options.initial {
        case .none:
            return nil
        case .json(let value):
            return value
        case .function(let make):
            guard let bytes = try make() else { return nil }
            if bytes.count > engine.maxValueBytes {
                throw BotSessionError(.tooBig, "the initial callback's value is \(bytes.count) bytes, more than max_value_bytes (\(engine.maxValueBytes))")
            }
            let value = try JSONText(validating: bytes, what: "the initial callback's value")
            return value.isNull ? nil : value
        }
    }

    // MARK: - The handler's operations

    /// Fails with MISUSE once the update is committed or rolled back.
    private func checkOpen() throws(BotSessionError) {
        if finished {
            throw BotSessionError(.misuse, "this update was already committed or rolled back; begin a new one")
        }
    }

    /// The slot of fragment `name` that has a key, or NO_KEY with grammY's message.
    private func keyedSlot(_ name: [UInt8]?, action: String) throws(BotSessionError) -> Int {
        try checkOpen()
        let i = try engine.fragmentIndex(name)
        if slots[i].key == nil {
            let options = slots[i].fragment.options
            throw slots[i].fragment.context(
                BotSessionError(.noKey, options.key.noKeyMessage(action: action, lazy: options.lazy)))
        }
        return i
    }

    /// The session value of `fragment` (nil for the single session), or nil when there is none.
    /// A lazy fragment is read now, the first time.
    public func get(_ fragment: String? = nil) throws(BotSessionError) -> JSONText? {
        try get(fragmentBytes: fragment.map { Array($0.utf8) })
    }

    package func get(fragmentBytes fragment: [UInt8]?) throws(BotSessionError) -> JSONText? {
        let i = try keyedSlot(fragment, action: "access")
        if !slots[i].loaded && !slots[i].wasSet { try load(i) }
        slots[i].touched = true
        return slots[i].current
    }

    /// Replaces the session value; nil or `null` deletes the session at commit. Size is checked
    /// before the JSON is (TOO_BIG first).
    package func set(fragmentBytes fragment: [UInt8]?, json: UnsafeBufferPointer<UInt8>?) throws(BotSessionError) {
        let i = try keyedSlot(fragment, action: "assign")
        var value: JSONText?
        if let json {
            if json.count > engine.maxValueBytes {
                throw slots[i].fragment.context(BotSessionError(
                    .tooBig, "the value is \(json.count) bytes, more than max_value_bytes (\(engine.maxValueBytes)); store less or raise max_value_bytes"))
            }
            do {
                value = try JSONText(validating: json, what: "the session value")
            } catch {
                throw slots[i].fragment.context(error)
            }
            if value!.isNull { value = nil }
        }
        slots[i].current = value
        slots[i].initialApplied = false
        slots[i].wasSet = true
        slots[i].touched = true
    }

    /// Replaces the session value of `fragment` (nil for the single session); nil or `null`
    /// deletes the session at commit.
    public func set(_ fragment: String? = nil, _ value: JSONText?) throws(BotSessionError) {
        let name = fragment.map { Array($0.utf8) }
        guard let value else { return try set(fragmentBytes: name, json: nil) }
        try value.bytes.withUnsafeBufferPointer { (p) throws(BotSessionError) in try set(fragmentBytes: name, json: p) }
    }

    /// Deletes every fragment that has a key at commit; fragments without a key are skipped.
    public func clear() throws(BotSessionError) {
        try checkOpen()
        for i in slots.indices where slots[i].key != nil {
            slots[i].current = nil
            slots[i].initialApplied = false
            slots[i].wasSet = true
            slots[i].touched = true
        }
    }

    /// The session key of `fragment`, prefix included, or nil when the update has none.
    public func key(_ fragment: String? = nil) throws(BotSessionError) -> SessionKey? {
        try key(fragmentBytes: fragment.map { Array($0.utf8) })
    }

    package func key(fragmentBytes fragment: [UInt8]?) throws(BotSessionError) -> SessionKey? {
        try checkOpen()
        return slots[try engine.fragmentIndex(fragment)].key
    }

    // MARK: - Ending

    /// What commit does for slot `slot` (SPEC §5's table): a change, or nil for no I/O. A
    /// session that was read is written only if the store still holds what was read
    /// (compare-and-set, SPEC §8); one set without a read is a blind write.
    static func plannedChange(_ slot: Slot) -> StoreChange? {
        guard let key = slot.key else { return nil }
        let refresh = slot.store.hasExpiry && slot.touched
        let expected = slot.expectation
        if slot.wasSet {
            guard let value = slot.current else {
                // Deleting what is known to be absent needs no I/O.
                let absent = slot.loaded && slot.stored == nil && !slot.storedHidden
                return absent ? nil : .delete(key, expecting: expected)
            }
            if let stored = slot.stored, stored.text.bytes == value.bytes, !stored.needsWriteBack, !refresh {
                return nil
            }
            return .write(key, value, expecting: expected)
        }
        // The handler did not set the session: what is left is housekeeping (persisting the
        // initial value, writing back a migrated value, refreshing an expiry), skipped rather
        // than a CONFLICT when another writer got there first.
        guard slot.loaded, let value = slot.current else { return nil }
        if slot.initialApplied {
            return slot.storedHidden ? nil : .write(key, value, expecting: expected, required: false)
        }
        // A value a migration changed is written back only when the handler read it; an
        // untouched session is never written (SPEC §5).
        if let stored = slot.stored, slot.touched && (stored.needsWriteBack || refresh) {
            return .write(key, value, expecting: expected, required: false)
        }
        return nil
    }

    /// One store's share of a commit: the changes of the fragments it holds, lowered to the
    /// store that finally holds the data (SessionStore.lower).
    private struct Batch {
        let store: any SessionStore
        var changes: [StoreChange]
        var fragments: [Engine.Fragment]

        /// For messages only: made when a commit fails, never on the way to success.
        var described: String { "\(fragments.map(\.label).joined(separator: ", ")) (\(store.identity))" }
    }

    /// The changes of SPEC §5's table, one batch per store identity (handles on one database
    /// share a batch, so one transaction), sorted by identity: every update prepares its stores
    /// in this one global order, so two commits on the same stores cannot deadlock.
    private func plannedBatches() -> (batches: [Batch], tally: Tally) {
        var batches: [Batch] = []
        var tally = Tally()
        for slot in slots {
            guard let change = SessionUpdate.plannedChange(slot) else {
                if slot.loaded { tally.skipped += 1 }
                continue
            }
            if case .delete = change { tally.deletes += 1 } else { tally.writes += 1 }
            let (base, lowered) = slot.store.lower([change])
            if let b = batches.firstIndex(where: { $0.store.identity == base.identity }) {
                batches[b].changes += lowered
                batches[b].fragments.append(slot.fragment)
            } else {
                batches.append(Batch(store: base, changes: lowered, fragments: [slot.fragment]))
            }
        }
        if batches.count > 1 {
            batches.sort { $0.store.identity.utf8.lexicographicallyPrecedes($1.store.identity.utf8) }
        }
        return (batches, tally)
    }

    /// What a commit will do, for the engine's counters.
    private struct Tally {
        var writes = 0, deletes = 0, skipped = 0
    }

    /// Writes back what the handler left, then releases the update.
    ///
    /// One store: its own commit, all or nothing (a transaction), so a failure writes nothing.
    /// Several stores: every store is prepared first (locked, compare-and-set checks done), so
    /// a CONFLICT or BUSY is found while nothing is written and the handler may run again; only
    /// then is each written. A failure while writing, after some stores were written, is
    /// PARTIAL, naming what was and was not written: running the handler again would apply
    /// its change twice.
    public func commit() throws(BotSessionError) {
        try checkOpen()
        defer { finish() }
        try followMigration()
        let (batches, tally) = plannedBatches()
        let counters = engine.counters
        // Timed whether it succeeds or not (a lock timeout is latency too); nothing to write,
        // no store operation.
        let started = batches.isEmpty ? 0 : monotonicMicros()
        do throws(BotSessionError) {
            defer { if !batches.isEmpty { counters.storeLatency.record(monotonicMicros() - started) } }
            try write(batches)
        } catch {
            counters.failed(error)
            throw error
        }
        EngineCounters.add(counters.commits)
        if tally.writes > 0 { EngineCounters.add(counters.writes, tally.writes) }
        if tally.deletes > 0 { EngineCounters.add(counters.deletes, tally.deletes) }
        if tally.skipped > 0 { EngineCounters.add(counters.skippedWrites, tally.skipped) }
    }

    /// The writing part of `commit`: the batches' stores, one transaction each.
    private func write(_ batches: [Batch]) throws(BotSessionError) {
        if batches.count == 1 {
            do {
                try batches[0].store.commit(batches[0].changes, timeoutMs: engine.lockTimeoutMs)
            } catch {
                guard engine.hasFragments else { throw error }
                let written = error.status == .partial ? "" : ", which wrote nothing"
                throw BotSessionError(error.status, "commit failed for \(batches[0].described)\(written): \(error.message)")
            }
            return
        }
        var prepared: [any PreparedCommit] = []
        for batch in batches {
            do {
                prepared.append(try batch.store.prepare(batch.changes, timeoutMs: engine.lockTimeoutMs))
            } catch {
                for p in prepared { p.abort() }
                throw BotSessionError(error.status, "commit failed for \(batch.described) before anything was written, so nothing was: \(error.message)")
            }
        }
        // Stores that take no lock and check nothing (custom, memory) are written after the
        // others, once those have released their locks: a custom store's callbacks never run
        // while this thread holds another store's lock.
        let order = prepared.indices.filter { !(prepared[$0] is DeferredCommit) }
            + prepared.indices.filter { prepared[$0] is DeferredCommit }
        for (n, i) in order.enumerated() {
            do {
                try prepared[i].write()
            } catch {
                for j in order[(n + 1)...] { prepared[j].abort() }
                let missed = order[n...].map { batches[$0].described }.joined(separator: ", ")
                if n == 0 && error.status != .partial {
                    throw BotSessionError(error.status, "commit failed while writing \(batches[i].described); nothing was written: \(error.message)")
                }
                let written = order[..<n].map { batches[$0].described }.joined(separator: ", ")
                throw BotSessionError(.partial, "commit failed while writing: \(written.isEmpty ? "" : "written: \(written); ")not (fully) written: \(missed). \(error.message). Do not run the handler again (its change would apply twice): repair the session, or let the next update go on from what is stored")
            }
        }
    }

    /// Ends the update without writing anything.
    public func rollback() {
        if !finished {
            EngineCounters.add(engine.counters.rollbacks)
            finish()
        }
    }

    private func finish() {
        finished = true
        KeyLocks.shared.release(locks)
    }
}
