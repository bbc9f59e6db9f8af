/// The text of one incoming update, as handed to a custom key function.
///
/// It borrows the caller's bytes and is valid only during the call it is passed to. The bytes
/// are followed by a NUL byte, so `cString` needs no copy.
public struct UpdateJSON {
    /// The update's bytes, without the terminating NUL.
    package let bytes: UnsafeBufferPointer<UInt8>

    /// Wraps `bytes`; `bytes.baseAddress[bytes.count]` must be a readable NUL byte.
    package init(nulTerminated bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The update as a NUL-terminated C string.
    package var cString: UnsafePointer<CChar> {
        UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
    }

    /// The update as a Swift string (a copy).
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Runs `body` with `text` as an update.
    package static func with<T, E: Error>(_ text: String, _ body: (UpdateJSON) throws(E) -> T) throws(E) -> T {
        let count = text.utf8.count
        var result: Result<T, E>!
        text.withCString { p in
            p.withMemoryRebound(to: UInt8.self, capacity: count + 1) { bytes in
                do throws(E) {
                    result = .success(try body(UpdateJSON(nulTerminated: UnsafeBufferPointer(start: bytes, count: count))))
                } catch {
                    result = .failure(error)
                }
            }
        }
        return try result.get()
    }
}
