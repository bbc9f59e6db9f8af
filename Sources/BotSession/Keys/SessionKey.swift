/// A session key: a byte string, compared, hashed and locked as its UTF-8 bytes.
///
/// Never a Swift `String`: `String`'s `==` treats canonically equivalent text as equal and would
/// merge two keys that a store keeps apart.
public struct SessionKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The longest key any store accepts, in bytes.
    public static let maxBytes = 1024

    public let bytes: [UInt8]

    /// A key from its bytes, checked: at most `maxBytes` bytes (TOO_BIG), valid UTF-8 and no NUL
    /// byte (MISUSE). `what` names the key's origin in the message ("key", "the key callback's
    /// key").
    public init(validating bytes: [UInt8], what: @autoclosure () -> String = "key") throws(BotSessionError) {
        if bytes.count > SessionKey.maxBytes {
            throw BotSessionError(
                .tooBig,
                "\(what()) is \(bytes.count) bytes long; keys are at most \(SessionKey.maxBytes) bytes: use a shorter key or prefix")
        }
        if bytes.contains(0) {
            throw BotSessionError(.misuse, "\(what()) \(Bytes.describe(bytes)) contains a NUL byte, which no key may contain")
        }
        if !Bytes.isValidUTF8(bytes) {
            throw BotSessionError(.misuse, "\(what()) \(Bytes.describe(bytes)) is not valid UTF-8; keys are UTF-8 text")
        }
        self.bytes = bytes
    }

    /// A key from text that is known to be valid (Swift strings are always valid UTF-8).
    public init(_ text: String) throws(BotSessionError) {
        try self.init(validating: Array(text.utf8))
    }

    /// A key the caller has already checked.
    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { Bytes.describe(bytes) }

    /// Hashes the bytes as one buffer (the element-wise default feeds the hasher a byte at a
    /// time, which showed up in profiles of every update).
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func == (a: SessionKey, b: SessionKey) -> Bool {
        a.bytes == b.bytes
    }

    public func hasPrefix(_ prefix: [UInt8]) -> Bool {
        bytes.count >= prefix.count && bytes.starts(with: prefix)
    }

    /// Byte order, as SQLite's BINARY collation and `memcmp` order keys.
    public static func < (a: SessionKey, b: SessionKey) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }
}
