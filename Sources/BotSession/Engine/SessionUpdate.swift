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

    init(engine: Engine, fragments: [Engine.Fragment], keys: [SessionKey?], locks: [KeyLocks.Name]) {
        self.engine = engine
        self.locks = locks
        slots = zip(fragments, keys).map { Slot(fragment: $0, key: $1) }
    }

    deinit {
        if !finished { KeyLocks.shared.release(locks) }
    }

    /// Reads every strict fragment that has a key.
    func loadStrictFragments() throws(BotSessionError) {
        for i in slots.indices where !slots[i].fragment.options.lazy && slots[i].key != nil {
            try load(i)
        }
    }

    /// Reads slot `i`'s session and applies the initial value when the store has none.
    private func load(_ i: Int) throws(BotSessionError) {
        let fragment = slots[i].fragment
        do {
            let found = try slots[i].store.read(slots[i].key!)
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

    public func get(fragmentBytes fragment: [UInt8]?) throws(BotSessionError) -> JSONText? {
        let i = try keyedSlot(fragment, action: "access")
        if !slots[i].loaded && !slots[i].wasSet { try load(i) }
        slots[i].touched = true
        return slots[i].current
    }

    /// Replaces the session value; nil or `null` deletes the session at commit. Size is checked
    /// before the JSON is (TOO_BIG first).
    public func set(fragmentBytes fragment: [UInt8]?, json: UnsafeBufferPointer<UInt8>?) throws(BotSessionError) {
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

    public func key(fragmentBytes fragment: [UInt8]?) throws(BotSessionError) -> SessionKey? {
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
        if let stored = slot.stored, stored.needsWriteBack || refresh {
            return .write(key, value, expecting: expected, required: false)
        }
        return nil
    }

    /// Writes back what the handler left, then releases the update. Fragments that share a
    /// transactional store (SQLite, memory) are written in one commit of that store; other
    /// changes one at a time. The first failure stops the rest, writes nothing for the fragments
    /// it concerns, and the message names the fragments already written.
    public func commit() throws(BotSessionError) {
        try checkOpen()
        defer { finish() }
        // Batches in fragment order: one per transactional store, one per change otherwise.
        var batches: [(store: any SessionStore, changes: [StoreChange], labels: [String])] = []
        for slot in slots {
            guard let change = SessionUpdate.plannedChange(slot) else { continue }
            if slot.store.isTransactional, let b = batches.firstIndex(where: { $0.store === slot.store }) {
                batches[b].changes.append(change)
                batches[b].labels.append(slot.fragment.label)
            } else {
                batches.append((slot.store, [change], [slot.fragment.label]))
            }
        }
        var written: [String] = []
        for batch in batches {
            do {
                try batch.store.commit(batch.changes)
            } catch {
                guard engine.hasFragments else { throw error }
                var message = "commit failed for \(batch.labels.joined(separator: ", ")), which wrote nothing: \(error.message)"
                message += written.isEmpty ? " (no fragment was written)" : " (already written: \(written.joined(separator: ", ")))"
                throw BotSessionError(error.status, message)
            }
            written += batch.labels
        }
    }

    /// Ends the update without writing anything.
    public func rollback() {
        if !finished { finish() }
    }

    private func finish() {
        finished = true
        KeyLocks.shared.release(locks)
    }
}
