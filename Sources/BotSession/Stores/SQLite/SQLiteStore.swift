#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The embedded default store: one SQLite file in WAL mode, one row per session.
///
/// The table is `sessions(key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER)`: the
/// value is the session's JSON text exactly as given, the version counts writes. Several
/// processes may use one file: WAL lets readers and a writer work at once, and `busy_timeout`
/// makes a writer wait for another. Each commit is one transaction, so a crash never leaves half
/// of it, and a compare-and-set on the version read with the session: a commit after another
/// process's fails with CONFLICT and writes nothing. (Writers other than BotSession that do not
/// bump `version` are not seen by compare-and-set.)
///
/// In this process, one connection serves the store and a lock serialises its use; SQLite
/// operations take microseconds, so the lock is never held long. A process that forks opens a
/// new connection in the child rather than sharing the parent's.
public final class SQLiteStore: SessionStore, @unchecked Sendable {
    public struct Options: Sendable {
        /// `synchronous=NORMAL` loses no commit when the process crashes; `FULL` also survives
        /// power loss.
        public enum Synchronous: String, Sendable { case off = "OFF", normal = "NORMAL", full = "FULL" }

        public var table = "sessions"
        public var synchronous = Synchronous.normal
        /// How long a write waits for another connection's write lock before BUSY.
        public var busyTimeoutMs: Int64 = 5000

        public init() {}
    }

    public let identity: String
    public let clock = ReplaceableClock()
    public let path: String
    public let options: Options

    private let lock = PThreadMutex()
    private var connection: SQLiteConnection
    /// The fork generation the connection was opened in (see `ForkGeneration`).
    private var openedIn: UInt64
    /// The file's absolute path, for reopening in a forked child that may have changed its
    /// working directory since.
    private let canonicalPath: String
    /// The table's name, quoted.
    private let quotedTable: String

    /// Opens (creating if needed) the database at `path`; `":memory:"` is a private in-memory
    /// database. Fails with STORAGE when the file cannot be opened or is not a database.
    public init(path: String, options: Options = Options()) throws(BotSessionError) {
        guard !path.isEmpty else {
            throw BotSessionError(.invalidOption, "the sqlite store needs a path: sqlite:PATH, or sqlite::memory: for a private in-memory database")
        }
        quotedTable = try SQLTable.quoted(options.table)
        // SQLite keeps names starting with "sqlite_" (any case) for itself (found by make fuzz).
        if options.table.lowercased().hasPrefix("sqlite_") {
            throw BotSessionError(.invalidOption, "table name '\(options.table)' is reserved by SQLite (names starting with sqlite_ are its own); choose another table name")
        }
        self.path = path
        self.options = options
        openedIn = ForkGeneration.current
        connection = try SQLiteConnection(path: path, options: options, createTable: true)
        if path == ":memory:" {
            canonicalPath = path
            identity = StoreIdentity.unique("sqlite::memory:")
        } else {
            canonicalPath = StoreIdentity.canonicalPath(path)
            identity = "sqlite:\(canonicalPath)#\(options.table)"
        }
    }

    deinit {
        // A store released in a forked child before it was used there still holds the parent's
        // connection: it must not be closed here either.
        _ = ForkGeneration.abandonIfForked(since: openedIn, [connection])
    }

    /// Runs `body` with this process's connection, under the store's lock.
    private func withConnection<T>(_ body: (SQLiteConnection) throws(BotSessionError) -> T) throws(BotSessionError) -> T {
        ForkGate.sqlite.enter()
        defer { ForkGate.sqlite.leave() }
        guard ThreadWaiting.allowed else { return try withConnectionNotWaiting(body) }
        lock.lock()
        defer { lock.unlock() }
        return try body(try ownConnection())
    }

    /// `withConnection` on a thread that must not wait (`ThreadWaiting`): BUSY at once when
    /// another thread has the connection or another connection the database's write lock.
    private func withConnectionNotWaiting<T>(_ body: (SQLiteConnection) throws(BotSessionError) -> T) throws(BotSessionError) -> T {
        guard lock.tryLock() else { throw ThreadWaiting.busy("SQLite database '\(path)'") }
        defer { lock.unlock() }
        let c = try ownConnection()
        c.setBusyTimeout(0)
        defer { c.setBusyTimeout(nil) }
        return try body(c)
    }

    /// This process's connection; the caller holds the store's lock. A connection must not
    /// cross fork(): the child gets its own, opened by the canonical path (the child may have
    /// changed directory), and the parent's is kept open and unused.
    private func ownConnection() throws(BotSessionError) -> SQLiteConnection {
        if ForkGeneration.abandonIfForked(since: openedIn, [connection]) {
            connection = try SQLiteConnection(path: canonicalPath, options: options, createTable: false)
            openedIn = ForkGeneration.current
        }
        return connection
    }

    public func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        guard let row = try withConnection({ (c) throws(BotSessionError) in try c.read(key) }) else { return nil }
        let text = try JSONText(validating: row.text, what: "the value stored under key \(key) in \(identity)")
        return StoredValue(text: text, version: .counter(row.version))
    }

    public func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        try withConnection { (c) throws(BotSessionError) in try c.has(key) }
    }

    public func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        try withConnection { (c) throws(BotSessionError) in try c.write(key, value) }
    }

    public func delete(_ key: SessionKey) throws(BotSessionError) {
        try withConnection { (c) throws(BotSessionError) in try c.delete(key) }
    }

    public func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) {
        guard !changes.isEmpty else { return }
        try withConnection { (c) throws(BotSessionError) in try c.commit(changes) }
    }

    /// `BEGIN IMMEDIATE` (the database's write lock, waited for at most `timeoutMs` or
    /// busy_timeout_ms, whichever is shorter) and every change applied inside the transaction,
    /// its version checked: nothing is visible to others until `write` commits. The store's
    /// connection stays reserved for this commit until then.
    ///
    /// A store on another table of the same file, prepared next by the same thread (the same
    /// update's commit), joins this transaction instead: a file has one writer at a time, and a
    /// second `BEGIN IMMEDIATE` would wait for the first until it timed out.
    public func prepare(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) -> any PreparedCommit {
        let slot = SQLiteStore.transactionSlot(canonicalPath)
        if path != ":memory:", let owner = SQLiteStore.openTransactions.withLock({ $0[slot] }) as? Prepared {
            for change in changes { try owner.connection.apply(change, table: quotedTable) }
            return Joined()
        }
        // Held until the transaction ends (Prepared.end), so a fork never cuts it in half.
        ForkGate.sqlite.enter()
        if ThreadWaiting.allowed {
            lock.lock()
        } else if !lock.tryLock() {
            ForkGate.sqlite.leave()
            throw ThreadWaiting.busy("SQLite database '\(path)'")
        }
        do throws(BotSessionError) {
            let c = try ownConnection()
            try c.beginTransaction(waitingMs: ThreadWaiting.allowed ? min(timeoutMs, options.busyTimeoutMs) : 0)
            do throws(BotSessionError) {
                for change in changes { try c.apply(change) }
            } catch {
                c.rollbackTransaction()
                throw error
            }
            let prepared = Prepared(store: self, connection: c, slot: path == ":memory:" ? nil : slot)
            if let slot = prepared.slot { SQLiteStore.openTransactions.withLock { $0[slot] = prepared } }
            return prepared
        } catch {
            lock.unlock()
            ForkGate.sqlite.leave()
            throw error
        }
    }

    /// The transactions `prepare` holds open, by thread and file (and fork generation, so a
    /// child never finds its parent's).
    static let openTransactions = LockedValue<[String: PreparedCommit]>([:])

    private static func transactionSlot(_ file: String) -> String {
        "\(ForkGeneration.current)/\(pthread_self())/\(file)"
    }

    /// A transaction opened by `prepare`, holding the store's lock until it ends.
    private final class Prepared: PreparedCommit {
        private let store: SQLiteStore
        let connection: SQLiteConnection
        let slot: String?
        private var ended = false

        init(store: SQLiteStore, connection: SQLiteConnection, slot: String?) {
            self.store = store
            self.connection = connection
            self.slot = slot
        }

        deinit { abort() }

        func write() throws(BotSessionError) {
            guard !ended else { return }
            ended = true
            defer { end() }
            try connection.commitTransaction()
        }

        func abort() {
            guard !ended else { return }
            ended = true
            connection.rollbackTransaction()
            end()
        }

        private func end() {
            if let slot { SQLiteStore.openTransactions.withLock { _ = $0.removeValue(forKey: slot) } }
            store.lock.unlock()
            ForkGate.sqlite.leave()
        }
    }

    /// A store's part of a transaction that another store of the same file opened: that one's
    /// commit or rollback covers it.
    private final class Joined: PreparedCommit {
        func write() throws(BotSessionError) {}
        func abort() {}
    }

    /// Entries in key byte order, a page at a time: the keys in [prefix, successor(prefix)).
    public func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor {
        let upper = SQLiteStore.successor(of: prefix)
        return PagedCursor(store: self, pageSize: Int(SQLiteConnection.pageSize)) { [self] (after) throws(BotSessionError) in
            try withConnection { (c) throws(BotSessionError) in try c.page(lower: prefix, upper: upper, after: after) }
        }
    }

    /// The smallest byte string greater than every string that starts with `prefix`. Valid
    /// UTF-8 never contains 0xFF, so `[0xFF]` is above every key.
    static func successor(of prefix: [UInt8]) -> [UInt8] {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0xFF]
    }

}
