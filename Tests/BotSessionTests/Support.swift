import BotSession

#if canImport(Glibc)
import Glibc
#endif

/// Test helpers shared by the suites.

/// A fresh directory under /tmp for one test (Swift Testing runs tests in parallel).
func temporaryDirectory(_ name: String = #function) -> String {
    var template = Array("/tmp/botsession-swift-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(cString: made!)
}

func removeDirectory(_ path: String) {
    _ = system("rm -rf '\(path)'")
}

/// JSON text from a string literal, known to be valid.
func json(_ text: String) -> JSONText {
    try! JSONText(text)
}

/// A store that counts and logs every operation, the way grammY's own tests observe a store.
final class CountingStore: SessionStore, @unchecked Sendable {
    let inner = MemoryStore()
    let identity: String
    let clock = ReplaceableClock()
    var hasExpiry: Bool { false }
    private(set) var reads = 0, writes = 0, deletes = 0, commits = 0
    private(set) var log: [String] = []

    init() { identity = "counting:\(ObjectIdentifier(inner).hashValue)" }

    func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        reads += 1
        log.append("R \(key.text)")
        return try inner.read(key)
    }

    func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        writes += 1
        log.append("W \(key.text)=\(value.string)")
        try inner.write(key, value)
    }

    func delete(_ key: SessionKey) throws(BotSessionError) {
        deletes += 1
        log.append("D \(key.text)")
        try inner.delete(key)
    }

    func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor {
        try inner.cursor(prefix: prefix)
    }

    func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) {
        commits += 1
        for change in changes {
            switch change {
            case .write(let key, let value, _, _): try write(key, value)
            case .delete(let key, _): try delete(key)
            }
        }
    }

    /// Puts a value without counting it.
    func seed(_ key: String, _ value: String) {
        try! inner.write(try! SessionKey(key), json(value))
    }

    func stored(_ key: String) -> String? {
        try! inner.read(try! SessionKey(key))?.text.string
    }

    var counts: [Int] { [reads, writes, deletes] }
}

extension SessionUpdate {
    /// The single session's value as a string, or nil.
    func value(_ fragment: String? = nil) throws(BotSessionError) -> String? {
        try get(fragment)?.string
    }

    func set(_ fragment: String? = nil, _ text: String?) throws(BotSessionError) {
        try set(fragment, text.map { try! JSONText($0) })
    }
}
