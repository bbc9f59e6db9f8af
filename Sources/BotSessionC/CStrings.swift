import BotSession

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The bytes of a C string argument (borrowed for the call), or MISUSE naming the argument
/// when it is NULL.
func bytes(_ p: UnsafePointer<CChar>?, _ name: String) throws(BotSessionError) -> UnsafeBufferPointer<UInt8> {
    guard let p else { throw misuse("\(name) is NULL") }
    return UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p))
}

/// A C string argument as a copied byte array; nil for NULL.
func optionalBytes(_ p: UnsafePointer<CChar>?) -> [UInt8]? {
    guard let p else { return nil }
    return Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
}

/// A key argument, checked (MISUSE when NULL or not UTF-8, TOO_BIG above 1,024 bytes).
func keyArgument(_ p: UnsafePointer<CChar>?, _ name: String = "key") throws(BotSessionError) -> SessionKey {
    try SessionKey(validating: Array(try bytes(p, name)))
}

/// A new NUL-terminated copy of `bytes` that the caller frees with `botsession_free`.
func copyOut(_ bytes: [UInt8]) throws(BotSessionError) -> UnsafeMutablePointer<CChar> {
    guard let p = malloc(bytes.count + 1) else {
        throw BotSessionError(.error, "out of memory copying \(bytes.count) bytes")
    }
    bytes.withUnsafeBytes { source in
        if let base = source.baseAddress { p.copyMemory(from: base, byteCount: source.count) }
    }
    p.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
    return p.assumingMemoryBound(to: CChar.self)
}

/// Runs `body` with `bytes` as a NUL-terminated C string.
func withCString<T, E: Error>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws(E) -> T) throws(E) -> T {
    var terminated = bytes
    terminated.append(0)
    return try terminated.withUnsafeBufferPointer { (p) throws(E) -> T in
        try body(UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: CChar.self))
    }
}
