/// Opening a built-in store by URI (`memory:`, `sqlite:PATH`, `file:DIR`, `postgresql://...`)
/// with a JSON options object.
public enum StoreURI {
    /// Opens the store a URI given as bytes names; a URI that is not UTF-8 is MISUSE (a path
    /// must not be silently rewritten).
    public static func open(bytes uri: [UInt8], optionsJSON: [UInt8]? = nil) throws(BotSessionError) -> any SessionStore {
        guard Bytes.isValidUTF8(uri) else {
            throw BotSessionError(.misuse, "the store URI \(Bytes.describe(uri)) is not valid UTF-8")
        }
        return try open(String(decoding: uri, as: UTF8.self), optionsJSON: optionsJSON)
    }

    /// Opens the store `uri` names. `optionsJSON` may be nil for defaults; unknown or
    /// wrong-typed options are INVALID_OPTION.
    public static func open(_ uri: String, optionsJSON: [UInt8]? = nil) throws(BotSessionError) -> any SessionStore {
        if uri == "memory:" {
            var options = try OptionObject(json: optionsJSON, what: "memory store options")
            let ttl = try options.integer("ttl_ms", in: 1...Int64(Int32.max) * 1000)
            try options.finish(known: ["ttl_ms"])
            return MemoryStore(ttlMs: ttl)
        }
        if uri.hasPrefix("sqlite:") {
            let path = String(uri.dropFirst("sqlite:".count))
            var options = try OptionObject(json: optionsJSON, what: "sqlite store options")
            var sqlite = SQLiteStore.Options()
            if let table = try options.string("table") { sqlite.table = table }
            if let mode = try options.string("synchronous") {
                switch mode.lowercased() {
                case "normal": sqlite.synchronous = .normal
                case "full": sqlite.synchronous = .full
                case "off": sqlite.synchronous = .off
                default:
                    throw BotSessionError(.invalidOption, "sqlite store options: \"synchronous\" must be \"normal\", \"full\" or \"off\", not \"\(mode)\"")
                }
            }
            if let timeout = try options.integer("busy_timeout_ms", in: 0...Int64(Int32.max)) {
                sqlite.busyTimeoutMs = timeout
            }
            try options.finish(known: ["table", "synchronous", "busy_timeout_ms"])
            return try SQLiteStore(path: path, options: sqlite)
        }
        if uri.hasPrefix("file:") {
            let options = try OptionObject(json: optionsJSON, what: "file store options")
            try options.finish(known: [])
            return try FileStore(directory: String(uri.dropFirst("file:".count)))
        }
        if uri.hasPrefix("postgresql://") || uri.hasPrefix("postgres://") {
            var options = try OptionObject(json: optionsJSON, what: "postgresql store options")
            var postgres = PostgreSQLStore.Options()
            if let table = try options.string("table") { postgres.table = table }
            if let seconds = try options.integer("connect_timeout_s", in: 1...3600) { postgres.connectTimeoutSeconds = seconds }
            postgres.statementTimeoutMs = try options.integer("statement_timeout_ms", in: 1...Int64(Int32.max))
            try options.finish(known: ["table", "connect_timeout_s", "statement_timeout_ms"])
            return try PostgreSQLStore(uri: uri, options: postgres)
        }
        // Only the scheme is shown, and only when it looks like one: the rest of a mistyped URI,
        // or a libpq key=value string ("host=... password=..."), may hold a password.
        let known = "use memory:, sqlite:PATH (or sqlite::memory:), file:DIR or postgresql://..."
        let scheme = uri.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        let isScheme = uri.contains(":") && scheme.utf8.count <= 40 && scheme.utf8.first.map { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A } == true
            && scheme.utf8.allSatisfy { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || (0x30...0x39).contains($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E }
        if isScheme {
            throw BotSessionError(.invalidOption, "unknown store URI scheme \(Bytes.describe(Array(scheme.utf8), limit: 40)); \(known)")
        }
        if uri.contains("=") {
            throw BotSessionError(.invalidOption, "the store URI looks like a libpq key=value connection string (not shown: it may hold a password), which is not a store URI; write it as postgresql://user:password@host:port/database")
        }
        throw BotSessionError(.invalidOption, "the store URI has no scheme (not shown: it may hold a password); \(known)")
    }
}
