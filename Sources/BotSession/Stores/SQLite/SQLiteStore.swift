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
    public var hasExpiry: Bool { false }
    public var isTransactional: Bool { true }
    public let path: String
    public let options: Options

    private let lock = PThreadMutex()
    private var connection: SQLiteConnection
    /// The fork generation the connection was opened in (see `ForkGeneration`).
    private var openedIn: UInt64
    /// Connections a forked child inherited from its parent, kept open and unused for the
    /// child's life.
    private static let inheritedConnections = LockedValue<[SQLiteConnection]>([])

    /// Opens (creating if needed) the database at `path`; `":memory:"` is a private in-memory
    /// database. Fails with STORAGE when the file cannot be opened or is not a database.
    public init(path: String, options: Options = Options()) throws(BotSessionError) {
        guard !path.isEmpty else {
            throw BotSessionError(.invalidOption, "the sqlite store needs a path: sqlite:PATH, or sqlite::memory: for a private in-memory database")
        }
        guard SQLiteStore.isValidTableName(options.table) else {
            throw BotSessionError(.invalidOption, "table name \(Bytes.describe(Array(options.table.utf8))) is not allowed; use 1 to 63 letters, digits and underscores, not starting with a digit")
        }
        self.path = path
        self.options = options
        openedIn = ForkGeneration.current
        connection = try SQLiteConnection(path: path, options: options, createTable: true)
        if path == ":memory:" {
            identity = StoreIdentity.unique("sqlite::memory:")
        } else {
            identity = "sqlite:\(SQLiteStore.canonicalPath(path))#\(options.table)"
        }
    }

    /// Runs `body` with this process's connection, under the store's lock.
    private func withConnection<T>(_ body: (SQLiteConnection) throws(BotSessionError) -> T) throws(BotSessionError) -> T {
        lock.lock()
        defer { lock.unlock() }
        let generation = ForkGeneration.current
        if generation != openedIn {
            // A connection must not cross fork(): the child gets its own. The parent's is never
            // closed here (that could disturb the parent's locks and WAL); it is kept, unused.
            SQLiteStore.inheritedConnections.withLock { $0.append(connection) }
            connection = try SQLiteConnection(path: path, options: options, createTable: false)
            openedIn = generation
        }
        return try body(connection)
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

    public func commit(_ changes: [StoreChange]) throws(BotSessionError) {
        guard !changes.isEmpty else { return }
        try withConnection { (c) throws(BotSessionError) in try c.commit(changes) }
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

    // MARK: - Names and paths

    static func isValidTableName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), !(0x30...0x39).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }

    /// A validated table name in double quotes (validation already excludes quotes inside).
    static func quoteIdentifier(_ name: String) -> String { "\"\(name)\"" }

    /// The file's absolute path with symbolic links resolved, so two spellings of one file share
    /// one identity (and one set of key locks).
    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
