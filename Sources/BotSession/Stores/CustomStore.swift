/// A store made of the caller's functions (from C, Python or Swift).
///
/// `read`, `write` and `delete` are required; `has` falls back to `read`, and a store without
/// `keys` cannot be iterated (ERROR, with a message that says so). `release` runs once, when the
/// last user of the store lets go of it. The functions may be called from any thread that uses
/// the store.
public final class CustomStore: SessionStore, @unchecked Sendable {
    public struct Methods: Sendable {
        /// The value's JSON text, or nil when absent.
        public var read: @Sendable (SessionKey) throws(BotSessionError) -> [UInt8]?
        public var write: @Sendable (SessionKey, JSONText) throws(BotSessionError) -> Void
        public var delete: @Sendable (SessionKey) throws(BotSessionError) -> Void
        public var has: (@Sendable (SessionKey) throws(BotSessionError) -> Bool)?
        /// The keys that start with the prefix, as a JSON array of strings.
        public var keys: (@Sendable ([UInt8]) throws(BotSessionError) -> [UInt8])?
        public var release: (@Sendable () -> Void)?

        public init(
            read: @escaping @Sendable (SessionKey) throws(BotSessionError) -> [UInt8]?,
            write: @escaping @Sendable (SessionKey, JSONText) throws(BotSessionError) -> Void,
            delete: @escaping @Sendable (SessionKey) throws(BotSessionError) -> Void,
            has: (@Sendable (SessionKey) throws(BotSessionError) -> Bool)? = nil,
            keys: (@Sendable ([UInt8]) throws(BotSessionError) -> [UInt8])? = nil,
            release: (@Sendable () -> Void)? = nil
        ) {
            self.read = read
            self.write = write
            self.delete = delete
            self.has = has
            self.keys = keys
            self.release = release
        }
    }

    public let identity = StoreIdentity.unique("custom:")
    public let clock = ReplaceableClock()
    private let methods: Methods

    public init(_ methods: Methods) {
        self.methods = methods
    }

    deinit {
        methods.release?()
    }

    public func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        guard let bytes = try methods.read(key) else { return nil }
        return StoredValue(text: try JSONText(validating: bytes, what: "the custom store's read callback result for key \(key)"))
    }

    public func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        try methods.write(key, value)
    }

    public func delete(_ key: SessionKey) throws(BotSessionError) {
        try methods.delete(key)
    }

    public func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        if let has = methods.has { return try has(key) }
        return try methods.read(key) != nil
    }

    public func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor {
        guard let keys = methods.keys else {
            throw BotSessionError(.error, "this custom store cannot be iterated: it was created without a keys callback")
        }
        let list = try keys(prefix)
        let parsed = try CustomStore.parseKeyList(list).filter { $0.hasPrefix(prefix) }
        return KeyListCursor(store: self, keys: parsed)
    }

    /// The keys in a JSON array of strings, as a keys callback returns them.
    static func parseKeyList(_ json: [UInt8]) throws(BotSessionError) -> [SessionKey] {
        let what = "the custom store's keys callback result"
        return try json.withUnsafeBufferPointer { (p) throws(BotSessionError) in
            try JSONDocument.parse(p, what: what) { (doc) throws(BotSessionError) in
                guard doc.kind(doc.root) == .array else {
                    throw BotSessionError(.callback, "\(what) must be a JSON array of strings")
                }
                var keys: [SessionKey] = []
                for element in doc.elements(doc.root) {
                    guard doc.kind(element) == .string else {
                        throw BotSessionError(.callback, "\(what) must be a JSON array of strings, but it holds \(String(decoding: doc.raw(element).prefix(40), as: UTF8.self))")
                    }
                    do throws(BotSessionError) {
                        keys.append(try SessionKey(validating: doc.stringValue(element), what: "a key in \(what)"))
                    } catch {
                        throw BotSessionError(.callback, error.message)
                    }
                }
                return keys
            }
        }
    }
}
