import CLibPQ

/// Sessions in a PostgreSQL table, for bots that run on several machines (SPEC §6).
///
/// The table is the one grammY's PostgreSQL adapter makes, `"key" VARCHAR NOT NULL` with a unique
/// index and `"value" TEXT` holding the JSON, so grammY bots can share it; it is created when
/// missing. Commits are compare-and-set on the row's `xmin` (which every writer changes,
/// grammY's adapter included): a commit after another writer's fails with CONFLICT and writes
/// nothing. A read is one round trip; a commit of one session is one round trip (several
/// sessions in one store commit in a transaction).
///
/// Connections come from a small pool, one per thread at a time. A connection the server closed
/// (a restart) is noticed before it is used and replaced; while the server is down, operations
/// fail with STORAGE within the connect timeout, and work again once it is back. A process that
/// forks opens new connections in the child. Messages name the server as host:port/database and
/// never contain the URI's password.
public final class PostgreSQLStore: SessionStore, @unchecked Sendable {
    public struct Options: Sendable {
        public var table = "sessions"
        /// How long connecting may take before the store reports STORAGE.
        public var connectTimeoutSeconds: Int64 = 5
        /// When set, statements running longer are canceled (STORAGE).
        public var statementTimeoutMs: Int64?

        public init() {}
    }

    public let identity: String
    public let clock = ReplaceableClock()
    public let options: Options

    private let settings: [(String, String)]
    /// The URI, its user information and its passwords: never in a message (PostgreSQLSecrets).
    private let secrets: [String]
    private let table: String
    private let lock = PThreadMutex()
    private var idle: [PostgreSQLConnection] = []
    private var openedIn: UInt64

    /// Connects to the server `uri` names (a libpq URI or connection string) and creates the
    /// table when missing. Fails with STORAGE when the server cannot be reached.
    public init(uri: String, options: Options = Options()) throws(BotSessionError) {
        table = try SQLTable.quoted(options.table)
        self.options = options
        // libpq quotes a URI it cannot parse in its error, password included: parse it first,
        // and say only that it is malformed.
        guard let password = PostgreSQLStore.password(in: uri) else {
            throw BotSessionError(.invalidOption, "the PostgreSQL URI is malformed (libpq cannot parse it); it is not shown here because it may hold a password: check its syntax, and percent-encode special characters in the user and password")
        }
        secrets = PostgreSQLSecrets.secrets(in: uri, password: password)
        // Defaults first: what the URI says itself overrides them. Keepalives make a dead
        // network fail a call (STORAGE) instead of hanging it.
        settings = [
            ("connect_timeout", String(options.connectTimeoutSeconds)),
            ("client_encoding", "UTF8"),
            ("application_name", "botsession"),
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
            ("keepalives_interval", "10"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", "60000"),
            ("dbname", uri),
        ]
        openedIn = ForkGeneration.current
        // The first connection also makes the table, as grammY's adapter does.
        let first = try PostgreSQLConnection(settings: settings, secrets: secrets, table: table,
                                             statementTimeoutMs: options.statementTimeoutMs, creatingTable: options.table)
        identity = "postgresql://\(first.location)#\(options.table)"
        idle.append(first)
    }

    deinit {
        // In a forked child, the pooled connections are the parent's: not even closed here.
        _ = ForkGeneration.abandonIfForked(since: openedIn, idle)
    }

    /// The password `uri` holds ("" for none), or nil when libpq cannot parse the URI.
    static func password(in uri: String) -> String? {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(uri, &error) else {
            if let error { PQfreemem(error) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password" {
                return option.pointee.val.map { String(cString: $0) } ?? ""
            }
            option += 1
        }
        return ""
    }

    // MARK: - The pool

    /// Runs `body` with a healthy connection of this process; a connection that fails is
    /// dropped, the others go back to the pool. Work that is safe to repeat (`idempotent`) is
    /// tried once more on a new connection when its connection broke: a server restart can end
    /// a connection after the health check passed.
    private func withConnection<T>(idempotent: Bool = false,
                                   _ body: (PostgreSQLConnection) throws(BotSessionError) -> T) throws(BotSessionError) -> T {
        let connection = try acquire()
        defer { release(connection) }
        do {
            return try body(connection)
        } catch where idempotent && connection.broken {
            let fresh = try acquire()
            defer { release(fresh) }
            return try body(fresh)
        }
    }

    private func acquire() throws(BotSessionError) -> PostgreSQLConnection {
        let pooled: PostgreSQLConnection? = lock.withLock {
            // A forked child: the parent's connections stay untouched (not even closed).
            if ForkGeneration.abandonIfForked(since: openedIn, idle) {
                idle.removeAll()
                openedIn = ForkGeneration.current
            }
            return idle.popLast()
        }
        if let pooled, pooled.isHealthy { return pooled }
        // None idle, or the server closed it (a restart): connect anew.
        return try PostgreSQLConnection(settings: settings, secrets: secrets, table: table, statementTimeoutMs: options.statementTimeoutMs)
    }

    private func release(_ connection: PostgreSQLConnection) {
        guard !connection.broken else { return }
        lock.withLock {
            if ForkGeneration.current == openedIn && idle.count < 16 { idle.append(connection) }
        }
    }

    // MARK: - Store operations

    public func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        let rows = try withConnection(idempotent: true) { (c) throws(BotSessionError) in
            try c.run(.read, [key.bytes], "reading key \(key)")
        }
        // A NULL value (grammY's table allows it) is absent, as in every store; a commit that
        // expects absence replaces it (insertIfAbsent).
        guard let row = rows.values.first, let value = row[0] else { return nil }
        let text = try JSONText(validating: value, what: "the value stored under key \(key) in \(identity)")
        let version = row[1].flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
        return StoredValue(text: text, version: version.map { .counter($0) })
    }

    /// Whether a non-NULL value is stored under `key`.
    public func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        try withConnection(idempotent: true) { (c) throws(BotSessionError) in
            try c.run(.has, [key.bytes], "looking up key \(key)")
        }.values.count > 0
    }

    public func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        try commit([.write(key, value)])
    }

    public func delete(_ key: SessionKey) throws(BotSessionError) {
        try commit([.delete(key)])
    }

    /// One change in one statement; several in one transaction. A change whose expectation no
    /// longer holds fails with CONFLICT and rolls the transaction back.
    public func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) {
        guard !changes.isEmpty else { return }
        try withConnection { (c) throws(BotSessionError) in
            if changes.count == 1 { return try apply(changes[0], on: c) }
            try c.execute("BEGIN", "starting a transaction")
            do throws(BotSessionError) {
                for change in changes { try apply(change, on: c) }
                try c.execute("COMMIT", "committing a transaction")
            } catch {
                if !c.broken { try? c.execute("ROLLBACK", "rolling back") }
                throw error
            }
        }
    }

    /// A transaction with every change applied, its `xmin` checked, row locks waited for at
    /// most `timeoutMs` (BUSY after): nothing is visible to others until `write` commits. The
    /// connection stays out of the pool until then.
    public func prepare(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) -> any PreparedCommit {
        let c = try acquire()
        do throws(BotSessionError) {
            // lock_timeout 0 would mean "wait forever".
            try c.execute("BEGIN; SET LOCAL lock_timeout = \(max(1, timeoutMs))", "starting a transaction")
            do throws(BotSessionError) {
                for change in changes { try apply(change, on: c) }
            } catch {
                if !c.broken { try? c.execute("ROLLBACK", "rolling back") }
                throw error
            }
            return Prepared(store: self, connection: c)
        } catch {
            release(c)
            throw error
        }
    }

    /// A transaction opened by `prepare`, on a connection it holds until it ends.
    private final class Prepared: PreparedCommit {
        private let store: PostgreSQLStore
        private let connection: PostgreSQLConnection
        private var ended = false

        init(store: PostgreSQLStore, connection: PostgreSQLConnection) {
            self.store = store
            self.connection = connection
        }

        deinit { abort() }

        func write() throws(BotSessionError) {
            guard !ended else { return }
            ended = true
            defer { store.release(connection) }
            do throws(BotSessionError) {
                try connection.execute("COMMIT", "committing a transaction")
            } catch {
                if !connection.broken { try? connection.execute("ROLLBACK", "rolling back") }
                // The connection broke during COMMIT: the server may or may not have applied it,
                // so running the handler again could apply its change twice.
                throw connection.broken
                    ? BotSessionError(.partial, "\(error.message); the server may or may not have applied this commit")
                    : error
            }
        }

        func abort() {
            guard !ended else { return }
            ended = true
            if !connection.broken { try? connection.execute("ROLLBACK", "rolling back") }
            store.release(connection)
        }
    }

    private func apply(_ change: StoreChange, on c: PostgreSQLConnection) throws(BotSessionError) {
        let applied: Bool
        switch change {
        case .write(let key, let value, .absent, _):
            applied = try c.run(.insertIfAbsent, [key.bytes, value.bytes], "inserting key \(key)").changed == 1
        case .write(let key, let value, .version(.counter(let version)), _):
            applied = try c.run(.updateIfVersion, [key.bytes, value.bytes, Array(String(version).utf8)], "writing key \(key)").changed == 1
        case .write(let key, let value, _, _):
            _ = try c.run(.upsert, [key.bytes, value.bytes], "writing key \(key)")
            applied = true
        case .delete(let key, .version(.counter(let version))):
            applied = try c.run(.deleteIfVersion, [key.bytes, Array(String(version).utf8)], "deleting key \(key)").changed == 1
        case .delete(let key, .absent):
            applied = try c.run(.has, [key.bytes], "looking up key \(key)").values.isEmpty
        case .delete(let key, _):
            _ = try c.run(.delete, [key.bytes], "deleting key \(key)")
            applied = true
        }
        if !applied { try change.expectationFailed(in: identity) }
    }

    /// Entries whose keys start with `prefix`, in the table's key order (its collation), a page
    /// at a time on the unique index.
    public func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor {
        PagedCursor(store: self, pageSize: PostgreSQLConnection.pageSize) { [self] (after) throws(BotSessionError) in
            let rows = try withConnection(idempotent: true) { (c) throws(BotSessionError) in
                if let after { return try c.run(.nextPage, [prefix, after], "listing keys") }
                return try c.run(.firstPage, [prefix], "listing keys")
            }
            return rows.values.compactMap { row in
                guard let key = row[0], let value = row[1] else { return nil }
                return (key, value)
            }
        }
    }
}
