/// The value a session starts with when its store has none.
public enum InitialValue: Sendable {
    /// No initial value: an absent session reads as none.
    case none
    /// A fixed JSON value.
    case json(JSONText)
    /// A function that makes the value (its JSON text), or returns nil for "absent". It runs
    /// on the thread that reads the session, while the session's key lock is held.
    case function(@Sendable () throws(BotSessionError) -> [UInt8]?)
}

/// How one session (a fragment, or the single session) is found and started.
public struct FragmentOptions: Sendable {
    /// The fragment's name; nil for the single session of an engine without fragments.
    public var name: String?
    public var key: KeyStrategy
    /// Put in front of every defined key (never in front of a missing one).
    public var prefix: [UInt8]
    public var initial: InitialValue
    /// Read on the first `get` instead of at `begin`.
    public var lazy: Bool

    public init(name: String? = nil, key: KeyStrategy = .chat, prefix: String = "",
                initial: InitialValue = .none, lazy: Bool = false) {
        self.name = name
        self.key = key
        self.prefix = Array(prefix.utf8)
        self.initial = initial
        self.lazy = lazy
    }
}

/// An engine's configuration: `{"lazy": false, "key": "chat", "prefix": "", "initial": ...}` for a
/// single session, or `{"fragments": {"name": {...}, ...}}`, plus engine-wide options.
public struct EngineOptions: Sendable {
    /// The sessions of each update: one unnamed one, or the named fragments in the order given.
    public var fragments: [FragmentOptions]
    /// Whether the engine was configured with `fragments` (then every call names a fragment).
    public var hasFragments: Bool
    /// How long `begin` waits for a key held by another update before BUSY; 0 fails at once.
    public var lockTimeoutMs: Int64 = 10_000
    /// The largest session value `set` accepts, in bytes.
    public var maxValueBytes: Int = 1 << 20
    /// Whether an update announcing that a group became a supergroup moves the old chat's
    /// sessions to the new chat id before the handler runs (Engine/ChatMigration.swift).
    public var followChatMigrations = false

    public static let defaultLockTimeoutMs: Int64 = 10_000

    /// One unnamed session.
    public init(single: FragmentOptions = FragmentOptions()) {
        var single = single
        single.name = nil
        fragments = [single]
        hasFragments = false
    }

    /// Named fragments; each must have a name, and names must differ.
    public init(fragments: [FragmentOptions]) throws(BotSessionError) {
        var seen: Set<[UInt8]> = []
        for fragment in fragments {
            guard let name = fragment.name else {
                throw BotSessionError(.invalidOption, "every fragment needs a name")
            }
            guard seen.insert(Array(name.utf8)).inserted else {
                throw BotSessionError(.invalidOption, "fragment \"\(name)\" is defined twice")
            }
        }
        self.fragments = fragments
        hasFragments = true
    }

    static let fragmentOptionNames = ["lazy", "key", "prefix", "initial"]
    static let engineOptionNames = ["lock_timeout_ms", "max_value_bytes", "follow_chat_migrations"]

    /// Options from their JSON form (nil or empty: the defaults).
    public init(json: [UInt8]?) throws(BotSessionError) {
        var object = try OptionObject(json: json, what: "engine options")
        if let fragments = try object.object("fragments") {
            for name in EngineOptions.fragmentOptionNames {
                if object.has(name) {
                    throw BotSessionError(.invalidOption, "engine options: \"\(name)\" cannot stand next to \"fragments\"; put it inside each fragment")
                }
            }
            var list: [FragmentOptions] = []
            for member in fragments.members {
                guard member.value.kind == .object else {
                    throw BotSessionError(.invalidOption, "engine options: fragment \"\(member.name)\" must be an object of options, not \(OptionObject.describe(member.value))")
                }
                var fragment = try OptionObject(object: member.value, what: "fragment \"\(member.name)\"")
                var parsed = try EngineOptions.readFragment(&fragment)
                try fragment.finish(known: EngineOptions.fragmentOptionNames)
                parsed.name = member.name
                list.append(parsed)
            }
            try self.init(fragments: list)
        } else {
            self.init(single: try EngineOptions.readFragment(&object))
        }
        if let timeout = try object.integer("lock_timeout_ms", in: 0...Int64(Int32.max)) {
            lockTimeoutMs = timeout
        }
        if let max = try object.integer("max_value_bytes", in: 1...(1 << 30)) {
            maxValueBytes = Int(max)
        }
        if let follow = try object.bool("follow_chat_migrations") {
            followChatMigrations = follow
        }
        try object.finish(known: ["fragments"] + EngineOptions.fragmentOptionNames + EngineOptions.engineOptionNames)
        for fragment in fragments {
            if case .json(let value) = fragment.initial, value.bytes.count > maxValueBytes {
                throw BotSessionError(.invalidOption, "\(fragment.name.map { "fragment \"\($0)\": " } ?? "")the initial value (\(value.bytes.count) bytes) is larger than max_value_bytes (\(maxValueBytes))")
            }
        }
    }

    private static func readFragment(_ object: inout OptionObject) throws(BotSessionError) -> FragmentOptions {
        var fragment = FragmentOptions()
        if let lazy = try object.bool("lazy") { fragment.lazy = lazy }
        if let key = try object.string("key") {
            do {
                fragment.key = try KeyStrategy(name: key)
            } catch {
                throw error.prefixed(object.what)
            }
        }
        if let prefix = try object.string("prefix") {
            fragment.prefix = Array(prefix.utf8)
            if fragment.prefix.contains(0) || fragment.prefix.count > SessionKey.maxBytes {
                throw BotSessionError(.invalidOption, "\(object.what): \"prefix\" must be at most \(SessionKey.maxBytes) bytes without NUL characters")
            }
        }
        if let initial = object.json("initial"), !initial.isNull { fragment.initial = .json(initial) }
        return fragment
    }
}
