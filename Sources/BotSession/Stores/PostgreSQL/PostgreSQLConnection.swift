import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One libpq connection with the store's statements, prepared once when it connects.
///
/// Not thread-safe: `PostgreSQLStore` hands each connection to one thread at a time.
final class PostgreSQLConnection {
    let conn: OpaquePointer
    /// Set when the connection failed: it is dropped instead of going back to the pool.
    private(set) var broken = false
    /// The SQLSTATE of the last statement that failed.
    private(set) var lastErrorState: String?

    /// The statements, by name; all parameters are text.
    enum Statement: String, CaseIterable {
        case read, upsert, delete, has, insertIfAbsent, updateIfVersion, deleteIfVersion, firstPage, nextPage

        func sql(_ table: String) -> String {
            // xmin, the transaction that wrote the row version, changes with every write, by
            // anyone (grammY's own adapter included): it is the compare-and-set version.
            let version = "(xmin::text)::bigint"
            return switch self {
            case .read: "SELECT value, \(version) FROM \(table) WHERE key = $1"
            case .upsert: "INSERT INTO \(table) (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            case .delete: "DELETE FROM \(table) WHERE key = $1"
            case .has: "SELECT 1 FROM \(table) WHERE key = $1 AND value IS NOT NULL"
            // A row whose value is NULL (grammY's table allows it) counts as absent, so it is
            // replaced too.
            case .insertIfAbsent:
                "INSERT INTO \(table) AS existing (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE existing.value IS NULL"
            case .updateIfVersion: "UPDATE \(table) SET value = $2 WHERE key = $1 AND \(version) = $3::bigint"
            case .deleteIfVersion: "DELETE FROM \(table) WHERE key = $1 AND \(version) = $2::bigint"
            case .firstPage:
                "SELECT key, value FROM \(table) WHERE starts_with(key, $1) AND value IS NOT NULL ORDER BY key LIMIT \(PostgreSQLConnection.pageSize)"
            case .nextPage:
                "SELECT key, value FROM \(table) WHERE starts_with(key, $1) AND key > $2 AND value IS NOT NULL ORDER BY key LIMIT \(PostgreSQLConnection.pageSize)"
            }
        }

        var parameterCount: Int32 {
            switch self {
            case .read, .delete, .has, .firstPage: 1
            case .upsert, .insertIfAbsent, .deleteIfVersion, .nextPage: 2
            case .updateIfVersion: 3
            }
        }
    }

    static let pageSize = 256

    /// Where the connection goes, for messages (never the password; a neutral text when libpq
    /// read part of the user information as host, port or database).
    let location: String
    /// Texts that must never appear in a message (PostgreSQLSecrets): replaced by `***`.
    private let secrets: [String]

    /// Connects with `settings` (libpq keywords and values; the URI is expanded from `dbname`),
    /// sets the session up and prepares the statements for `table` (quoted). With
    /// `creatingTable` (the table's plain name), first creates the table and its unique index
    /// when missing.
    init(settings: [(String, String)], secrets: [String], table: String, statementTimeoutMs: Int64?,
         creatingTable name: String? = nil) throws(BotSessionError) {
        var keywords: [UnsafeMutablePointer<CChar>?] = settings.map { strdup($0.0) }
        var values: [UnsafeMutablePointer<CChar>?] = settings.map { strdup($0.1) }
        keywords.append(nil)
        values.append(nil)
        defer {
            for pointer in keywords { free(pointer) }
            for pointer in values { free(pointer) }
        }
        let connection: OpaquePointer? = keywords.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                k.withMemoryRebound(to: UnsafePointer<CChar>?.self) { keys in
                    v.withMemoryRebound(to: UnsafePointer<CChar>?.self) { vals in
                        PQconnectdbParams(keys.baseAddress, vals.baseAddress, 1)
                    }
                }
            }
        }
        guard let connection else {
            throw BotSessionError(.storage, "cannot connect to PostgreSQL: out of memory")
        }
        let location = PostgreSQLSecrets.location(PostgreSQLConnection.describe(connection), hiding: secrets)
        // Checked before the properties are set: once they all are, a throwing initializer runs
        // deinit, which frees the connection, and freeing it here too would free it twice.
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = PostgreSQLConnection.message(connection, hiding: secrets)
            PQfinish(connection)
            throw BotSessionError(.storage, "cannot connect to PostgreSQL at \(location): \(reason); check that the server runs and the URI is right")
        }
        conn = connection
        self.location = location
        self.secrets = secrets
        // A library does not print: libpq's default notice processor writes NOTICEs to stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // From here on, a failure leaves the connection to deinit.
        // Row-lock waits of single-statement commits are bounded as an engine's default
        // lock_timeout_ms bounds them (a prepared commit sets its engine's own, SET LOCAL).
        try execute("SET lock_timeout = \(defaultLockTimeoutMs)", "setting lock_timeout")
        if let statementTimeoutMs {
            try execute("SET statement_timeout = \(statementTimeoutMs)", "setting statement_timeout")
        }
        if let name { try createTable(table, name: name) }
        for statement in Statement.allCases {
            let result = PQprepare(conn, statement.rawValue, statement.sql(table), statement.parameterCount, nil)
            defer { PQclear(result) }
            try check(result, "preparing the \(statement.rawValue) statement")
        }
    }

    deinit {
        PQfinish(conn)
    }

    /// grammY's table: `key` with a unique index, `value` JSON text. Two processes creating it
    /// at once can collide in the catalog (duplicate table, or a unique violation on its type);
    /// then the table exists, and creating it again finds it.
    private func createTable(_ table: String, name: String) throws(BotSessionError) {
        var attempt = 0
        while true {
            attempt += 1
            do throws(BotSessionError) {
                try execute("CREATE TABLE IF NOT EXISTS \(table) (\"key\" VARCHAR NOT NULL, \"value\" TEXT)", "creating table \(name)")
                try execute("CREATE UNIQUE INDEX IF NOT EXISTS IDX_\(name) ON \(table) (\"key\")", "creating the unique index of \(name)")
                return
            } catch where attempt < 3 && ["42P07", "23505"].contains(lastErrorState) {
                continue
            }
        }
    }

    /// Whether the connection is still usable: reads what the server sent meanwhile, without
    /// waiting. A server that restarted sent a FATAL message and closed the connection; the
    /// first read takes the message, the second sees the end.
    var isHealthy: Bool {
        guard !broken, PQstatus(conn) == CONNECTION_OK else { return false }
        for _ in 0..<2 where PQconsumeInput(conn) == 0 { return false }
        return PQstatus(conn) == CONNECTION_OK
    }

    // MARK: - Running statements

    /// A prepared statement's result rows, as text (nil for SQL NULL), and the number of rows
    /// it changed.
    struct Rows {
        var values: [[[UInt8]?]] = []
        var changed = 0
    }

    func run(_ statement: Statement, _ parameters: [[UInt8]], _ doing: @autoclosure () -> String) throws(BotSessionError) -> Rows {
        // Parameters as NUL-terminated text (keys and JSON texts contain no NUL).
        var copies = parameters.map { bytes -> UnsafeMutablePointer<CChar>? in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBytes { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(p), byteCount: bytes.count) }
            p[bytes.count] = 0
            return p
        }
        defer { for p in copies { p?.deallocate() } }
        let result = copies.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                PQexecPrepared(conn, statement.rawValue, Int32(parameters.count), values.baseAddress, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        try check(result, doing())
        var rows = Rows()
        if let tuples = PQcmdTuples(result), tuples.pointee != 0 {
            rows.changed = Int(String(cString: tuples)) ?? 0
        }
        let count = PQntuples(result)
        let fields = PQnfields(result)
        if count > 0 {
            rows.values.reserveCapacity(Int(count))
            for row in 0..<count {
                var values: [[UInt8]?] = []
                for field in 0..<fields {
                    if PQgetisnull(result, row, field) == 1 {
                        values.append(nil)
                    } else {
                        let length = Int(PQgetlength(result, row, field))
                        let p = UnsafeRawPointer(PQgetvalue(result, row, field)!)
                        values.append(Array(UnsafeRawBufferPointer(start: p, count: length)))
                    }
                }
                rows.values.append(values)
            }
        }
        return rows
    }

    /// Runs SQL without parameters (BEGIN, COMMIT, schema statements).
    func execute(_ sql: String, _ doing: String) throws(BotSessionError) {
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        try check(result, doing)
    }

    private func check(_ result: OpaquePointer?, _ doing: String) throws(BotSessionError) {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK { return }
        let reason = PostgreSQLConnection.message(conn, hiding: secrets)
        if PQstatus(conn) != CONNECTION_OK || result == nil {
            broken = true
            throw BotSessionError(.storage, "PostgreSQL at \(location) is unreachable (\(reason)) while \(doing); it is retried on the next operation")
        }
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        lastErrorState = state
        switch state {
        case "57014":
            throw BotSessionError(.storage, "PostgreSQL at \(location) canceled the statement while \(doing): \(reason); raise statement_timeout_ms")
        case "55P03":
            throw BotSessionError(.busy, "PostgreSQL at \(location) timed out waiting for a row lock that another transaction holds while \(doing); retry, or raise lock_timeout_ms")
        case "40001", "40P01":
            throw BotSessionError(.conflict, "PostgreSQL at \(location) could not serialize the change while \(doing) (\(reason)); run the handler again")
        default:
            throw BotSessionError(.storage, "PostgreSQL at \(location) failed while \(doing): \(reason)")
        }
    }

    /// libpq's error message, on one line, with every secret replaced by `***`.
    static func message(_ conn: OpaquePointer, hiding secrets: [String]) -> String {
        guard let raw = PQerrorMessage(conn) else { return "unknown error" }
        let text = PostgreSQLSecrets.hide(String(cString: raw).split(whereSeparator: \.isNewline).joined(separator: " "), secrets)
        return text.isEmpty ? "unknown error" : text
    }

    /// host:port/database of a connection (no user, no password).
    static func describe(_ conn: OpaquePointer) -> String {
        func field(_ value: UnsafeMutablePointer<CChar>?) -> String { value.map { String(cString: $0) } ?? "" }
        return "\(field(PQhost(conn))):\(field(PQport(conn)))/\(field(PQdb(conn)))"
    }
}
