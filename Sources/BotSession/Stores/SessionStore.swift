/// A store's version of a stored value, read with it and checked at commit (compare-and-set).
public enum StoreVersion: Sendable, Hashable {
    /// A number that changes with every write (SQLite's version column, PostgreSQL's xmin).
    case counter(Int64)
    /// The stored text itself (the file store compares what is there with what was read).
    case content([UInt8])
}

/// What a commit expects to find under a key before it writes (SPEC §8).
public enum Expectation: Sendable, Hashable {
    /// Nothing: a blind write or delete (the session was never read).
    case any
    /// That the key is still absent, as it was when the session was read.
    case absent
    /// That the value is still at this version.
    case version(StoreVersion)

    /// What a commit expects after a read found `found`: its version, or absence. Stores
    /// without versions ignore expectations (`.any`).
    public init(read found: StoredValue?) {
        guard let found else { self = .absent; return }
        self = found.version.map { .version($0) } ?? .any
    }
}

/// What a store read found.
public struct StoredValue: Sendable {
    /// The value's exact text.
    public var text: JSONText
    /// The store's version of the value, for compare-and-set commits; nil where the store keeps
    /// none (memory and custom stores, which rely on the engine's in-process key locks).
    public var version: StoreVersion?
    /// Whether reading changed what the store should hold (a migration ran): the engine writes
    /// the value back at commit when the handler read it, even if it did not set it; an
    /// untouched session is never written (SPEC §5).
    public var needsWriteBack: Bool
    /// Whether data is stored but reads as absent (an enhancer's migration dropped it; `text`
    /// is then `null`). The engine shows no session, and replaces the data only when the
    /// handler sets or clears the session (SPEC §7), never with the initial value alone.
    public var hidden: Bool

    public init(text: JSONText, version: StoreVersion? = nil, needsWriteBack: Bool = false, hidden: Bool = false) {
        self.text = text
        self.version = version
        self.needsWriteBack = needsWriteBack
        self.hidden = hidden
    }
}

/// One change of a commit, with what the store must still hold for it to apply. A store that
/// keeps versions refuses a change whose expectation no longer holds: with CONFLICT, or, for a
/// change that is only housekeeping (`required == false`: persisting an initial value, writing
/// back a migrated value, refreshing an expiry), by skipping it, since another writer's value
/// already made it unnecessary. Stores without versions ignore expectations.
public enum StoreChange: Sendable {
    case write(SessionKey, JSONText, expecting: Expectation = .any, required: Bool = true)
    case delete(SessionKey, expecting: Expectation = .any)

    public var key: SessionKey {
        switch self {
        case .write(let key, _, _, _), .delete(let key, _): key
        }
    }

    public var expectation: Expectation {
        switch self {
        case .write(_, _, let expected, _), .delete(_, let expected): expected
        }
    }

    /// Whether a failed expectation is a CONFLICT (true) or a reason to skip the change.
    public var required: Bool {
        switch self {
        case .write(_, _, _, let required): required
        case .delete: true
        }
    }

    /// What a store does when this change's expectation no longer holds: throws CONFLICT for a
    /// required change, returns (skipping it) otherwise.
    func expectationFailed(in store: String) throws(BotSessionError) {
        if required {
            throw BotSessionError(.conflict, "another writer changed key \(key) in \(store) since this update read it, so nothing was written; run the handler again")
        }
    }
}

/// A cursor over a store's entries, created by `SessionStore.cursor(prefix:)`.
///
/// It keeps its store alive. Entries written or deleted while it runs may or may not be seen;
/// every entry that exists throughout is seen exactly once.
public protocol StoreCursor: AnyObject {
    /// The next entry, or nil at the end.
    func next() throws(BotSessionError) -> (key: SessionKey, value: JSONText)?
}

/// A place where sessions live. Every store has the same semantics (SPEC §6) and passes one
/// conformance suite.
///
/// Stores are shared by many threads: every method may be called concurrently.
public protocol SessionStore: AnyObject, Sendable {
    /// What the store is, for messages and for the process-wide key locks: two handles on one
    /// database have the same identity (e.g. `sqlite:/abs/path.db#sessions`).
    var identity: String { get }

    /// Whether values expire (a memory store's `ttl_ms`, an enhancer's). Then the engine writes
    /// back every session the handler read or set, to refresh its expiry.
    var hasExpiry: Bool { get }

    /// The clock that expiry reads, replaced with `setClock`.
    var clock: ReplaceableClock { get }

    /// The time expiry uses now, in milliseconds since the epoch: the clock set on this store,
    /// else (for stores that wrap another) the wrapped store's time, else the system clock.
    func now() -> Int64

    /// The value under `key`, or nil when there is none.
    func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue?

    /// Stores `value` under `key`, replacing what was there.
    func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError)

    /// Removes `key`; removing an absent key is not an error.
    func delete(_ key: SessionKey) throws(BotSessionError)

    /// Whether a value is stored under `key`.
    func has(_ key: SessionKey) throws(BotSessionError) -> Bool

    /// A cursor over the entries whose keys start with `prefix` (all of them for `[]`).
    func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor

    /// Applies the changes of one update's commit, all of them or (for a store without
    /// transactions, on a failure while writing) as many as it could, saying so with PARTIAL.
    /// A CONFLICT means nothing was written. Waits at most `timeoutMs` for a lock of its own
    /// (the file store's folder locks; SQLite waits its `busy_timeout_ms`).
    func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError)

    /// The first phase of a commit that spans several stores (SPEC §5): takes the locks that
    /// `changes` need and checks every expectation, writing nothing yet, so that a CONFLICT (or
    /// any other failure here) leaves the store as it was. Waits at most `timeoutMs` for a lock
    /// (BUSY after). The result holds the locks until its `write` or `abort`.
    func prepare(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) -> any PreparedCommit

    /// The store that finally holds the data, and `changes` as that store must apply them (an
    /// enhancer wraps the values and hands them to its inner store). An update groups its
    /// changes by the base store's identity, so handles on one database commit in one
    /// transaction.
    func lower(_ changes: [StoreChange]) -> (base: any SessionStore, changes: [StoreChange])
}

/// A store's part of a commit after `SessionStore.prepare`: locked and checked, not yet
/// written. Exactly one of `write` and `abort` ends it; one dropped without either aborts.
public protocol PreparedCommit: AnyObject {
    /// Writes the prepared changes and releases the locks. Only an I/O failure or a lost server
    /// can make it fail; a store that had already written some of its changes then fails with
    /// PARTIAL.
    func write() throws(BotSessionError)

    /// Releases the locks and writes nothing.
    func abort()
}

/// The prepared commit of a store that checks nothing and takes no lock across stores (memory,
/// custom): `write` is the store's own commit.
final class DeferredCommit: PreparedCommit {
    private let store: any SessionStore
    private let changes: [StoreChange]

    init(_ store: any SessionStore, _ changes: [StoreChange]) {
        self.store = store
        self.changes = changes
    }

    func write() throws(BotSessionError) { try store.commit(changes) }
    func abort() {}
}

/// How long a store operation outside an engine's commit (`botsession_store_write`, the
/// enhancer's housekeeping) waits for a lock: the engine's default `lock_timeout_ms`.
let defaultLockTimeoutMs: Int64 = 10_000

extension SessionStore {
    public func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        try read(key) != nil
    }

    /// The value under `key` as a direct read shows it: nil when absent or hidden.
    public func value(_ key: SessionKey) throws(BotSessionError) -> JSONText? {
        guard let found = try read(key), !found.hidden else { return nil }
        return found.text
    }

    /// A commit outside an engine's (the store API, the enhancer's housekeeping), waiting for
    /// locks as long as an engine does by default.
    public func commit(_ changes: [StoreChange]) throws(BotSessionError) {
        try commit(changes, timeoutMs: defaultLockTimeoutMs)
    }

    /// One change after another, expectations ignored: for stores without transactions or
    /// versions. A failure after some changes were applied is PARTIAL, naming them.
    public func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) {
        for (done, change) in changes.enumerated() {
            do {
                switch change {
                case .write(let key, let value, _, _): try write(key, value)
                case .delete(let key, _): try delete(key)
                }
            } catch {
                guard done > 0 else { throw error }
                let written = changes[..<done].map { "\($0.key)" }.joined(separator: ", ")
                let missed = changes[done...].map { "\($0.key)" }.joined(separator: ", ")
                throw BotSessionError(.partial, "\(identity) wrote key \(written) but not key \(missed): \(error.message)")
            }
        }
    }

    /// Nothing to lock or check: the changes are applied at `write`.
    public func prepare(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) -> any PreparedCommit {
        DeferredCommit(self, changes)
    }

    public func lower(_ changes: [StoreChange]) -> (base: any SessionStore, changes: [StoreChange]) {
        (self, changes)
    }

    /// Sets the clock that expiry reads; nil returns to the system clock.
    public func setClock(_ clock: Clock?) { self.clock.set(clock) }

    public func now() -> Int64 { clock.now() }

    public var hasExpiry: Bool { false }
}

/// A cursor over entries already collected.
final class ArrayCursor: StoreCursor {
    private var entries: [(key: SessionKey, value: JSONText)]
    private var position = 0
    /// Keeps the store alive while the cursor is, as every cursor does.
    private let owner: AnyObject

    init(_ entries: [(key: SessionKey, value: JSONText)], owner: AnyObject) {
        self.entries = entries
        self.owner = owner
    }

    func next() throws(BotSessionError) -> (key: SessionKey, value: JSONText)? {
        guard position < entries.count else { return nil }
        defer { position += 1 }
        return entries[position]
    }
}

/// A cursor that reads each of a list of keys when it reaches it, skipping keys deleted since
/// the list was made.
final class KeyListCursor: StoreCursor {
    private let store: any SessionStore
    private let keys: [SessionKey]
    private var position = 0

    init(store: any SessionStore, keys: [SessionKey]) {
        self.store = store
        self.keys = keys
    }

    func next() throws(BotSessionError) -> (key: SessionKey, value: JSONText)? {
        while position < keys.count {
            let key = keys[position]
            position += 1
            if let stored = try store.read(key) { return (key, stored.text) }
        }
        return nil
    }
}
