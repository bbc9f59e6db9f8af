import ArgumentParser
import BotSession

/// The store a command works on: its URI and options.
struct StoreArguments: ParsableArguments {
    @Argument(help: "The store: sqlite:PATH, postgresql://..., file:DIR (memory: is empty in a new process).")
    var uri: String

    @Option(name: .customLong("options"), help: ArgumentHelp("Store options as a JSON object, e.g. '{\"table\": \"sessions\"}'.", valueName: "json"))
    var options: String?

    func open() throws(CommandFailure) -> any SessionStore {
        try StoreArguments.open(uri, options)
    }

    static func open(_ uri: String, _ options: String?) throws(CommandFailure) -> any SessionStore {
        try doing("cannot open \(uri)") { () throws(BotSessionError) in
            try StoreURI.open(uri, optionsJSON: options.map { Array($0.utf8) })
        }
    }
}

/// Reading through grammY's enhancer: expired sessions absent, data unwrapped.
struct EnhancerArguments: ParsableArguments {
    @Flag(help: "Read through the enhancer: expired sessions are absent, data is unwrapped from {\"v\", \"__d\", \"e\"}.")
    var enhanced = false

    @Option(name: .customLong("ttl-ms"), help: ArgumentHelp("With --enhanced: the bot's session lifetime; expiry is checked only with it, as the enhancer does.", valueName: "ms"))
    var ttlMs: Int64?

    func validate() throws {
        if ttlMs != nil && !enhanced { throw ValidationError("--ttl-ms needs --enhanced") }
        if let ttlMs, ttlMs <= 0 { throw ValidationError("--ttl-ms must be a positive number of milliseconds") }
    }

    /// `store` as the command reads it: through an enhancer with --enhanced, else as it is.
    func view(_ store: any SessionStore) -> EnhancedStore? {
        enhanced ? EnhancedStore(store, ttlMs: ttlMs) : nil
    }
}

/// The flag every command has.
struct QuietArgument: ParsableArguments {
    @Flag(name: .shortAndLong, help: "No progress bar and no summary on stderr.")
    var quiet = false
}

/// What the command knows of a store, for `stats`.
func storeFacts(_ store: any SessionStore) -> [(String, String)] {
    var facts: [(String, String)] = [("identity", store.identity)]
    switch store {
    case let sqlite as SQLiteStore:
        facts += [("kind", "sqlite"), ("path", sqlite.path), ("table", sqlite.options.table), ("version column", "version")]
    case let postgres as PostgreSQLStore:
        facts += [("kind", "postgresql"), ("table", postgres.options.table), ("version column", "xmin (PostgreSQL's row version)")]
    case let file as FileStore:
        facts += [("kind", "file"), ("directory", file.directory), ("version column", "none (the file's text is compared)")]
    case is MemoryStore:
        facts += [("kind", "memory")]
    default:
        facts += [("kind", "custom")]
    }
    return facts
}

/// Every entry under `prefix`, as the store holds it.
func entries(_ store: any SessionStore, prefix: String?, progress: Progress? = nil,
             _ body: (SessionKey, JSONText) throws(CommandFailure) -> Void) throws(CommandFailure) {
    let cursor = try doing("cannot list \(store.identity)") { () throws(BotSessionError) in
        try store.cursor(prefix: Array(NegativeNumbers.restore(prefix ?? "").utf8))
    }
    while let entry = try doing("cannot list \(store.identity)", { () throws(BotSessionError) in try cursor.next() }) {
        try body(entry.key, entry.value)
        progress?.advance()
    }
}

func key(_ text: String) throws(CommandFailure) -> SessionKey {
    try doing("bad key") { () throws(BotSessionError) in try SessionKey(NegativeNumbers.restore(text)) }
}
