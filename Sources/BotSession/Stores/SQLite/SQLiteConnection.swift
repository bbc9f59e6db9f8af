import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `SQLITE_TRANSIENT`, which Swift does not import: SQLite copies the bound bytes.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection with the store's statements, prepared once when it opens.
///
/// Not thread-safe: `SQLiteStore` uses it under its lock (the connection is opened with
/// `SQLITE_OPEN_NOMUTEX` for that reason).
final class SQLiteConnection {
    let db: OpaquePointer
    let path: String
    /// The store's table, quoted.
    let table: String
    private let busyTimeoutMs: Int32

    /// The statements every operation uses, prepared once per connection.
    private struct Statements {
        let read, upsert, delete, has, begin, commit, rollback: OpaquePointer
        /// Compare-and-set: write or delete only what is still at the version that was read, or
        /// insert only what is still absent.
        let updateIfVersion, insertIfAbsent, deleteIfVersion: OpaquePointer

        var all: [OpaquePointer] {
            [read, upsert, delete, has, begin, commit, rollback, updateIfVersion, insertIfAbsent, deleteIfVersion]
        }

        static func prepare(_ db: OpaquePointer, _ path: String, table: String) throws(BotSessionError) -> Statements {
            var prepared: [OpaquePointer] = []
            func prepare(_ sql: String) throws(BotSessionError) -> OpaquePointer {
                let statement = try SQLiteConnection.prepare(db, path, sql)
                prepared.append(statement)
                return statement
            }
            do throws(BotSessionError) {
                return Statements(
                    read: try prepare("SELECT value, version FROM \(table) WHERE key = ?1"),
                    // A new row starts at a random version, so a key deleted and made again
                    // never repeats a version an update may have read (no ABA).
                    upsert: try prepare(
                        "INSERT INTO \(table) (key, value, version) VALUES (?1, ?2, random()) "
                            + "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1"),
                    delete: try prepare("DELETE FROM \(table) WHERE key = ?1"),
                    has: try prepare("SELECT 1 FROM \(table) WHERE key = ?1 AND value IS NOT NULL"),
                    begin: try prepare("BEGIN IMMEDIATE"),
                    commit: try prepare("COMMIT"),
                    rollback: try prepare("ROLLBACK"),
                    updateIfVersion: try prepare(
                        "UPDATE \(table) SET value = ?2, version = version + 1 WHERE key = ?1 AND version = ?3"),
                    // A row whose value is NULL counts as absent, so it is replaced too.
                    insertIfAbsent: try prepare(
                        "INSERT INTO \(table) (key, value, version) VALUES (?1, ?2, random()) "
                            + "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1 WHERE value IS NULL"),
                    deleteIfVersion: try prepare("DELETE FROM \(table) WHERE key = ?1 AND version = ?2"))
            } catch {
                for statement in prepared { sqlite3_finalize(statement) }
                throw error
            }
        }
    }

    private let statements: Statements
    /// Key iteration is rare: its statements are prepared on first use.
    private var pageStatements: [OpaquePointer] = []
    /// Statements for other tables of this file, whose stores joined a transaction of this
    /// connection (`apply(_:table:)`).
    private var otherTables: [String: Statements] = [:]

    /// Keys per page of key iteration.
    static let pageSize: Int32 = 256

    /// Done once, before this process's first connection (see the shim).
    private static let memoryStatisticsOff: Void = { _ = botsession_shim_sqlite3_disable_memstatus() }()

    init(path: String, options: SQLiteStore.Options, createTable: Bool) throws(BotSessionError) {
        _ = SQLiteConnection.memoryStatisticsOff
        let table = try SQLTable.quoted(options.table)
        self.path = path
        self.table = table
        busyTimeoutMs = Int32(clamping: options.busyTimeoutMs)
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw BotSessionError(.storage, "cannot open SQLite database '\(path)': \(message); check that the directory exists and is writable")
        }
        db = handle
        do throws(BotSessionError) {
            sqlite3_extended_result_codes(handle, 1)
            sqlite3_busy_timeout(handle, Int32(clamping: options.busyTimeoutMs))
            // Several processes may open a new file at once: setting it up can meet another
            // process's lock (switching to WAL does not wait by itself) or its last close, so
            // the setup is retried until busy_timeout_ms has passed.
            try SQLiteConnection.retryingSetup(handle, path, timeoutMs: options.busyTimeoutMs) { () throws(BotSessionError) in
                if path != ":memory:" && SQLiteConnection.journalMode(handle) != "wal" {
                    try SQLiteConnection.exec(handle, path, "PRAGMA journal_mode=WAL", "switching to WAL")
                }
                try SQLiteConnection.exec(handle, path, "PRAGMA synchronous=\(options.synchronous.rawValue)", "setting synchronous")
                if createTable {
                    try SQLiteConnection.prepareSchema(handle, path, table: table, name: options.table)
                }
            }
            statements = try Statements.prepare(handle, path, table: table)
        } catch {
            sqlite3_close_v2(handle)
            throw error
        }
    }

    deinit {
        for statement in statements.all + pageStatements + otherTables.values.flatMap(\.all) {
            sqlite3_finalize(statement)
        }
        sqlite3_close_v2(db)
    }

    // MARK: - Operations

    func read(_ key: SessionKey) throws(BotSessionError) -> (text: [UInt8], version: Int64)? {
        let s = statements.read
        defer { sqlite3_reset(s); sqlite3_clear_bindings(s) }
        bind(s, 1, key.bytes)
        let rc = sqlite3_step(s)
        if rc == SQLITE_DONE { return nil }
        guard rc == SQLITE_ROW else { throw failure(rc, "reading key \(key)") }
        // A row whose value is NULL (a table of another program's) is absent, as in every
        // store; a commit that expects absence replaces it (insertIfAbsent).
        if sqlite3_column_type(s, 0) == SQLITE_NULL { return nil }
        return (columnBytes(s, 0), sqlite3_column_int64(s, 1))
    }

    func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        let s = statements.has
        defer { sqlite3_reset(s); sqlite3_clear_bindings(s) }
        bind(s, 1, key.bytes)
        let rc = sqlite3_step(s)
        if rc == SQLITE_DONE { return false }
        guard rc == SQLITE_ROW else { throw failure(rc, "looking up key \(key)") }
        return true
    }

    func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        let s = statements.upsert
        defer { sqlite3_reset(s); sqlite3_clear_bindings(s) }
        bind(s, 1, key.bytes)
        bind(s, 2, value.bytes)
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE else { throw failure(rc, "writing key \(key)") }
    }

    func delete(_ key: SessionKey) throws(BotSessionError) {
        let s = statements.delete
        defer { sqlite3_reset(s); sqlite3_clear_bindings(s) }
        bind(s, 1, key.bytes)
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE else { throw failure(rc, "deleting key \(key)") }
    }

    /// Applies `changes` in one transaction: all of them or none. A change whose expectation no
    /// longer holds (another writer committed since the read) rolls the transaction back and
    /// fails with CONFLICT.
    func commit(_ changes: [StoreChange]) throws(BotSessionError) {
        if changes.count == 1 {
            // One statement is its own transaction.
            try apply(changes[0])
            return
        }
        try step(statements.begin, "starting a transaction")
        do throws(BotSessionError) {
            for change in changes { try apply(change) }
            try commitTransaction()
        } catch {
            rollbackTransaction()
            throw error
        }
    }

    /// The busy timeout of the calls that follow: `ms`, or nil for the store's busy_timeout_ms.
    func setBusyTimeout(_ ms: Int32?) {
        sqlite3_busy_timeout(db, ms ?? busyTimeoutMs)
    }

    /// `BEGIN IMMEDIATE`, waiting at most `waitingMs` for another connection's write lock.
    func beginTransaction(waitingMs: Int64) throws(BotSessionError) {
        sqlite3_busy_timeout(db, Int32(clamping: max(0, waitingMs)))
        defer { sqlite3_busy_timeout(db, busyTimeoutMs) }
        try step(statements.begin, "starting a transaction")
    }

    /// Commits the open transaction; on failure it is rolled back.
    func commitTransaction() throws(BotSessionError) {
        do throws(BotSessionError) {
            try step(statements.commit, "committing a transaction")
        } catch {
            rollbackTransaction()
            throw error
        }
    }

    /// Rolls the open transaction back, if one is open.
    func rollbackTransaction() {
        if sqlite3_get_autocommit(db) == 0 { _ = try? step(statements.rollback, "rolling back") }
    }

    /// Applies one change inside the caller's transaction (or as its own statement), its
    /// expectation checked: CONFLICT when it no longer holds and the change is required.
    /// `table` (quoted) names another table of this file, for a store on that table that
    /// joins this connection's transaction (see `SQLiteStore.prepare`).
    func apply(_ change: StoreChange, table other: String? = nil) throws(BotSessionError) {
        let st = try statements(for: other)
        let applied: Bool
        switch change {
        case .write(let key, let value, .absent, _):
            try run(st.insertIfAbsent, [key.bytes, value.bytes], "inserting key \(key)")
            applied = sqlite3_changes(db) == 1
        case .write(let key, let value, .version(.counter(let version)), _):
            try run(st.updateIfVersion, [key.bytes, value.bytes], version: version, "writing key \(key)")
            applied = sqlite3_changes(db) == 1
        case .write(let key, let value, _, _):
            try run(st.upsert, [key.bytes, value.bytes], "writing key \(key)")
            applied = true
        case .delete(let key, .version(.counter(let version))):
            try run(st.deleteIfVersion, [key.bytes], version: version, "deleting key \(key)")
            applied = sqlite3_changes(db) == 1
        case .delete(let key, .absent):
            let s = st.has
            defer { sqlite3_reset(s); sqlite3_clear_bindings(s) }
            bind(s, 1, key.bytes)
            let rc = sqlite3_step(s)
            guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw failure(rc, "looking up key \(key)") }
            applied = rc == SQLITE_DONE
        case .delete(let key, _):
            try run(st.delete, [key.bytes], "deleting key \(key)")
            applied = true
        }
        if !applied { try change.expectationFailed(in: "SQLite database '\(path)'") }
    }

    /// This connection's statements for `table` (quoted; nil for its own), prepared on first use.
    private func statements(for table: String?) throws(BotSessionError) -> Statements {
        guard let table, table != self.table else { return statements }
        if let prepared = otherTables[table] { return prepared }
        let prepared = try Statements.prepare(db, path, table: table)
        otherTables[table] = prepared
        return prepared
    }

    /// Runs a statement that returns no rows: `texts` bound as ?1, ?2..., then `version` after
    /// them when given.
    /// `doing` is only made when the statement fails (it names the key).
    private func run(_ s: OpaquePointer, _ texts: [[UInt8]], version: Int64? = nil, _ doing: @autoclosure () -> String) throws(BotSessionError) {
        defer { sqlite3_reset(s); sqlite3_clear_bindings(s) }
        for (i, text) in texts.enumerated() { bind(s, Int32(i + 1), text) }
        if let version { sqlite3_bind_int64(s, Int32(texts.count + 1), version) }
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE else { throw failure(rc, doing()) }
    }

    /// Up to `pageSize` entries with keys in [lower, upper), after `after` when given, in key
    /// order.
    func page(lower: [UInt8], upper: [UInt8], after: [UInt8]?) throws(BotSessionError) -> [(key: [UInt8], value: [UInt8])] {
        if pageStatements.isEmpty {
            let columns = "SELECT key, value FROM \(table)"
            pageStatements = [
                try SQLiteConnection.prepare(db, path, "\(columns) WHERE key >= ?1 AND key < ?2 AND value IS NOT NULL ORDER BY key LIMIT \(Self.pageSize)"),
                try SQLiteConnection.prepare(db, path, "\(columns) WHERE key > ?1 AND key < ?2 AND value IS NOT NULL ORDER BY key LIMIT \(Self.pageSize)"),
            ]
        }
        let s = after == nil ? pageStatements[0] : pageStatements[1]
        defer { sqlite3_reset(s); sqlite3_clear_bindings(s) }
        bind(s, 1, after ?? lower)
        bind(s, 2, upper)
        var rows: [(key: [UInt8], value: [UInt8])] = []
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else { throw failure(rc, "listing keys") }
            rows.append((columnBytes(s, 0), columnBytes(s, 1)))
        }
    }

    // MARK: - Helpers

    /// Binds `bytes` as TEXT (not BLOB: TEXT and BLOB never compare equal in SQLite).
    private func bind(_ s: OpaquePointer, _ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { p in
            // A zero-length buffer may have no address; SQLite needs one for an empty text.
            let base = p.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(bitPattern: 1)!
            sqlite3_bind_text(s, index, base.assumingMemoryBound(to: CChar.self), Int32(p.count), transient)
        }
    }

    private func columnBytes(_ s: OpaquePointer, _ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(s, column))
        guard count > 0, let p = sqlite3_column_text(s, column) else {
            // Call column_text before column_bytes would be the documented order; for TEXT
            // columns both orders give the same, and an empty value has no pointer.
            return []
        }
        return Array(UnsafeBufferPointer(start: p, count: count))
    }

    private func step(_ s: OpaquePointer, _ doing: String) throws(BotSessionError) {
        defer { sqlite3_reset(s) }
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw failure(rc, doing) }
    }

    func failure(_ rc: Int32, _ doing: String) -> BotSessionError {
        SQLiteConnection.failure(db, path, rc, doing)
    }

    static func failure(_ db: OpaquePointer, _ path: String, _ rc: Int32, _ doing: String) -> BotSessionError {
        let message = String(cString: sqlite3_errmsg(db))
        switch rc & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED:
            if !ThreadWaiting.allowed { return ThreadWaiting.busy("SQLite database '\(path)'") }
            return BotSessionError(.busy, "SQLite database '\(path)' stayed locked by another connection while \(doing) (\(message)); raise busy_timeout_ms or retry")
        case SQLITE_TOOBIG:
            return BotSessionError(.tooBig, "SQLite refused a value as too big while \(doing): \(message)")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return BotSessionError(.storage, "SQLite database '\(path)' is corrupt or not a SQLite database (\(message)) while \(doing); restore it from a backup or point the store at another file")
        default:
            return BotSessionError(.storage, "SQLite failed while \(doing) in '\(path)': \(message) (code \(rc))")
        }
    }

    static func prepare(_ db: OpaquePointer, _ path: String, _ sql: String) throws(BotSessionError) -> OpaquePointer {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw failure(db, path, rc, "preparing \(sql)")
        }
        return statement
    }

    /// The database's journal mode ("wal", "delete", ...), or "" when it cannot be read now.
    static func journalMode(_ db: OpaquePointer) -> String {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nil) == SQLITE_OK, let statement else { return "" }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return "" }
        return String(cString: text).lowercased()
    }

    /// Runs `setup`, again after a short pause while it fails because another connection holds
    /// a lock or is closing the file (BUSY, or a transient I/O error), until `timeoutMs` of wall
    /// time has passed. Each attempt waits for locks briefly; the store's busy timeout is set
    /// back afterwards.
    static func retryingSetup(_ db: OpaquePointer, _ path: String, timeoutMs: Int64,
                              _ setup: () throws(BotSessionError) -> Void) throws(BotSessionError) {
        let nowMs = monotonicMs
        let deadline = nowMs() + timeoutMs
        defer { sqlite3_busy_timeout(db, Int32(clamping: timeoutMs)) }
        var pauseMs: Int64 = 1
        while true {
            sqlite3_busy_timeout(db, Int32(clamping: max(0, min(100, deadline - nowMs()))))
            do throws(BotSessionError) {
                return try setup()
            } catch {
                let transient = error.status == .busy || sqlite3_errcode(db) & 0xFF == SQLITE_IOERR
                guard transient, nowMs() + pauseMs < deadline else { throw error }
                usleep(UInt32(pauseMs * 1000))
                pauseMs = min(pauseMs * 2, 50)
            }
        }
    }

    static func exec(_ db: OpaquePointer, _ path: String, _ sql: String, _ doing: String) throws(BotSessionError) {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw failure(db, path, rc, doing) }
    }

    /// Creates the sessions table when missing; an existing one must have `key` and `value`
    /// columns (a table made by another program), and gets a `version` column if it lacks one.
    static func prepareSchema(_ db: OpaquePointer, _ path: String, table: String, name: String) throws(BotSessionError) {
        try exec(db, path,
                 "CREATE TABLE IF NOT EXISTS \(table) (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, "
                    + "version INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
                 "creating table \(table)")
        let info = try prepare(db, path, "PRAGMA table_info(\(table))")
        defer { sqlite3_finalize(info) }
        var columns: Set<String> = []
        while sqlite3_step(info) == SQLITE_ROW {
            if let name = sqlite3_column_text(info, 1) { columns.insert(String(cString: name)) }
        }
        guard columns.contains("key"), columns.contains("value") else {
            throw BotSessionError(.storage, "table '\(name)' in '\(path)' exists but has no key and value columns; choose another table with the \"table\" option")
        }
        if !columns.contains("version") {
            try exec(db, path, "ALTER TABLE \(table) ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
                     "adding a version column to \(table)")
        }
    }
}
