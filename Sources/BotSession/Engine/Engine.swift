/// The session middleware's configuration: which sessions an update has, how their keys are
/// found, where they are stored, and how they start.
///
/// Configure it (stores, key and initial functions) before the first `begin`; after that its
/// configuration is frozen (MISUSE) and it may be shared by any number of threads.
public final class Engine: @unchecked Sendable {
    /// One session of every update, with everything needed to find and start it. A class, so
    /// that each update refers to it instead of copying it; changed only before the engine
    /// freezes, under the engine's lock.
    final class Fragment {
        let name: [UInt8]?
        var options: FragmentOptions
        var store: (any SessionStore)?
        /// The store's identity, which names its key locks; set when the engine freezes.
        var lockStore = ""

        init(name: [UInt8]?, options: FragmentOptions) {
            self.name = name
            self.options = options
        }

        /// "fragment 'x'" for messages; empty for the single session.
        var label: String { name.map { "fragment \(Bytes.describe($0))" } ?? "" }

        /// `error` with this fragment's label in front, except NO_KEY, whose message is grammY's
        /// text word for word (SPEC §4), and the single session's errors.
        func context(_ error: BotSessionError) -> BotSessionError {
            name == nil || error.status == .noKey ? error : error.prefixed(label)
        }
    }

    public let lockTimeoutMs: Int64
    public let maxValueBytes: Int
    public let hasFragments: Bool
    /// `follow_chat_migrations`: whether `begin` moves a migrated group's sessions.
    public let followChatMigrations: Bool
    /// What this engine has done since it was made (`botsession_engine_stats`).
    public let counters = EngineCounters()

    private let lock = PThreadMutex()
    private var fragments: [Fragment]
    private var frozen = false
    /// Whether any fragment's key comes from the update's fields (so `begin` must parse it).
    private var readsUpdateFields = true
    /// Whether `begin` looks for chat migrations: the engine follows them and some fragment's
    /// key comes from the chat.
    private var detectsChatMigrations = false

    public init(options: EngineOptions) {
        lockTimeoutMs = options.lockTimeoutMs
        maxValueBytes = options.maxValueBytes
        hasFragments = options.hasFragments
        followChatMigrations = options.followChatMigrations
        fragments = options.fragments.map { Fragment(name: $0.name.map { Array($0.utf8) }, options: $0) }
    }

    /// An engine from options in their JSON form.
    public convenience init(json: String?) throws(BotSessionError) {
        self.init(options: try EngineOptions(json: json.map { Array($0.utf8) }))
    }

    // MARK: - Configuration

    /// Where `fragment` (nil for the single session) is stored. Without a store, a fragment gets
    /// its own memory store at the first `begin`, as in grammY.
    public func setStore(_ store: any SessionStore, fragment: String? = nil) throws(BotSessionError) {
        try setStore(store, fragmentBytes: fragment.map { Array($0.utf8) })
    }

    /// A key function for `fragment`, replacing its `key` strategy (`prefix` still applies).
    public func setKeyFunction(_ function: @escaping KeyFunction, fragment: String? = nil) throws(BotSessionError) {
        try setKeyFunction(function, fragmentBytes: fragment.map { Array($0.utf8) })
    }

    /// The initial value of `fragment`, replacing the one from the options.
    public func setInitial(_ initial: InitialValue, fragment: String? = nil) throws(BotSessionError) {
        try setInitial(initial, fragmentBytes: fragment.map { Array($0.utf8) })
    }

    // The same, with fragment names as bytes (as they come from C).

    package func setStore(_ store: any SessionStore, fragmentBytes name: [UInt8]?) throws(BotSessionError) {
        try configure(name) { $0.store = store }
    }

    package func setKeyFunction(_ function: @escaping KeyFunction, fragmentBytes name: [UInt8]?) throws(BotSessionError) {
        try configure(name) { $0.options.key = .custom(function) }
    }

    package func setInitial(_ initial: InitialValue, fragmentBytes name: [UInt8]?) throws(BotSessionError) {
        try configure(name) { $0.options.initial = initial }
    }

    private func configure(_ name: [UInt8]?, _ change: (Fragment) -> Void) throws(BotSessionError) {
        try lock.withLock { () throws(BotSessionError) in
            if frozen {
                throw BotSessionError(.misuse, "the engine is already in use: configure stores, key functions and initial functions before the first begin")
            }
            let index = try fragmentIndex(name)
            change(fragments[index])
        }
    }

    /// The index of fragment `name`; nil names the single session.
    func fragmentIndex(_ name: [UInt8]?) throws(BotSessionError) -> Int {
        guard let name else {
            if hasFragments {
                throw BotSessionError(.misuse, "this engine has fragments (\(fragmentList)); name one instead of passing NULL")
            }
            return 0
        }
        guard hasFragments else {
            throw BotSessionError(.misuse, "this engine has a single session and no fragment \(Bytes.describe(name)); pass NULL as the fragment")
        }
        guard let index = fragments.firstIndex(where: { $0.name == name }) else {
            throw BotSessionError(.misuse, "unknown fragment \(Bytes.describe(name)); this engine has \(fragments.isEmpty ? "no fragments" : fragmentList)")
        }
        return index
    }

    private var fragmentList: String {
        fragments.compactMap { $0.name.map { Bytes.describe($0) } }.joined(separator: ", ")
    }

    /// Freezes the configuration at the first `begin` and returns it.
    func frozenFragments() -> [Fragment] {
        lock.withLock {
            if !frozen {
                for fragment in fragments {
                    if fragment.store == nil { fragment.store = MemoryStore() }
                    fragment.lockStore = fragment.store!.identity
                }
                readsUpdateFields = fragments.contains { $0.options.key.readsUpdateFields }
                detectsChatMigrations = followChatMigrations && fragments.contains { $0.options.key.comesFromChat }
                frozen = true
            }
            return fragments
        }
    }

    // MARK: - Updates

    /// Starts handling one update: resolves every fragment's key, waits for those keys (other
    /// updates of the same sessions finish first), and reads the strict fragments.
    ///
    /// For event loops, which must not block: `waiting: false` fails at once with BUSY when a key
    /// is held, and `reading: false` leaves the strict fragments to `SessionUpdate.read()`, so
    /// the part that waits for I/O can run elsewhere.
    package func begin(update: UpdateJSON, waiting: Bool = true, reading: Bool = true) throws(BotSessionError) -> SessionUpdate {
        let fragments = frozenFragments()
        let (keys, migration) = try resolveKeys(fragments, update)
        let names = try lockNames(fragments, keys)
        do {
            try KeyLocks.shared.acquire(names, timeoutMs: waiting && ThreadWaiting.allowed ? lockTimeoutMs : 0,
                                        counters: counters) { name in "key \(name.key)" }
        } catch {
            counters.failed(error)
            throw error
        }
        EngineCounters.add(counters.begins)
        let update = SessionUpdate(engine: self, fragments: fragments, keys: keys, locks: names, migration: migration)
        guard reading else { return update }
        do {
            try update.loadStrictFragments()
        } catch {
            update.rollback()
            throw error
        }
        return update
    }

    /// The key locks `update` needs, in the order `begin` takes them: the store's identity and
    /// the key of every keyed fragment. Nothing is locked or read.
    package func lockNames(update: UpdateJSON) throws(BotSessionError) -> [(store: String, key: SessionKey)] {
        let fragments = frozenFragments()
        return try lockNames(fragments, resolveKeys(fragments, update).keys).map { ($0.store, $0.key) }
    }

    private func lockNames(_ fragments: [Fragment], _ keys: [SessionKey?]) throws(BotSessionError) -> [KeyLocks.Name] {
        var names: [KeyLocks.Name] = []
        for (i, key) in keys.enumerated() {
            guard let key else { continue }
            let name = KeyLocks.Name(store: fragments[i].lockStore, key: key)
            if names.contains(name) {
                throw BotSessionError(.invalidOption, "\(describeClash(fragments, keys, i, key)): give them different prefixes or stores")
            }
            names.append(name)
        }
        names.sort()
        return names
    }

    public func begin(update: String) throws(BotSessionError) -> SessionUpdate {
        try UpdateJSON.with(update) { (u) throws(BotSessionError) in try begin(update: u) }
    }

    private func describeClash(_ fragments: [Fragment], _ keys: [SessionKey?], _ i: Int, _ key: SessionKey) -> String {
        let first = fragments.indices.first { j in
            j != i && keys[j] == key && fragments[j].lockStore == fragments[i].lockStore
        }
        let other = first.map { fragments[$0].label } ?? "another fragment"
        return "\(other) and \(fragments[i].label) both resolve to key \(key) in the same store (\(fragments[i].store!.identity))"
    }

    /// Every fragment's key for `update`, prefix included; nil where the update has none. When
    /// the engine follows chat migrations and the update announces one, keys from the chat are
    /// the NEW chat's (so the handler sees the moved sessions), and the migration is returned.
    private func resolveKeys(_ fragments: [Fragment], _ update: UpdateJSON) throws(BotSessionError)
        -> (keys: [SessionKey?], migration: ChatMigration?) {
        func resolve(_ fields: UpdateFields?) throws(BotSessionError) -> [SessionKey?] {
            var keys: [SessionKey?] = []
            keys.reserveCapacity(fragments.count)
            for fragment in fragments {
                let strategy = fragment.options.key
                do {
                    guard let raw = try strategy.resolve(fields, update) else {
                        keys.append(nil)
                        continue
                    }
                    keys.append(try Engine.makeKey(fragment.options.prefix, raw, custom: !strategy.readsUpdateFields))
                } catch {
                    throw fragment.context(error)
                }
            }
            return keys
        }
        if readsUpdateFields {
            return try JSONDocument.parse(update.bytes, what: "the update") { (doc) throws(BotSessionError) in
                try Engine.requireObject(update.bytes)
                var fields = UpdateFields(doc)
                guard detectsChatMigrations, let migration = fields.chatMigration else {
                    return (try resolve(fields), nil)
                }
                fields.chatIDOverride = migration.new
                return (try resolve(fields), migration)
            }
        }
        do {
            try JSONScanner.validate(update.bytes)
        } catch {
            throw JSONText.invalid("the update", error)
        }
        try Engine.requireObject(update.bytes)
        return (try resolve(nil), nil)
    }

    /// An update is a JSON object (Telegram's `Update`): valid JSON of any other kind (`[1,2]`,
    /// `42`, `null`, `"text"`, `true`) is INVALID_JSON. `text` has been validated, so its first
    /// non-whitespace byte tells the kind of its value without another parse.
    static func requireObject(_ text: UnsafeBufferPointer<UInt8>) throws(BotSessionError) {
        var i = 0
        while i < text.count && JSONText.isSpace(text[i]) { i += 1 }
        guard i < text.count, text[i] == 0x7B else {
            let kind: String
            switch i < text.count ? text[i] : 0 {
            case 0x5B: kind = "an array"
            case 0x22: kind = "a string"
            case 0x6E: kind = "null"
            case 0x74, 0x66: kind = "a boolean"
            default: kind = "a number"
            }
            throw BotSessionError(.invalidJSON, "the update is \(kind), not a JSON object: an update is a JSON object such as {\"update_id\": 1, \"message\": {...}}")
        }
    }

    /// `prefix + raw` as a checked key. A bad key (a NUL byte) is the failure of where it came
    /// from: the key callback's (CALLBACK) or the update's (INVALID_JSON); too long is TOO_BIG.
    static func makeKey(_ prefix: [UInt8], _ raw: [UInt8], custom: Bool) throws(BotSessionError) -> SessionKey {
        do {
            return try SessionKey(validating: prefix.isEmpty ? raw : prefix + raw,
                                  what: custom ? "the key from the key callback" : "the key from the update")
        } catch {
            guard error.status == .misuse else { throw error }
            throw BotSessionError(custom ? .callback : .invalidJSON, error.message)
        }
    }
}
