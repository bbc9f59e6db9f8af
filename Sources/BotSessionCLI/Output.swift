#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BotSession

/// Standard output and error, written as bytes (keys and values are UTF-8 bytes, not Strings).
enum Output {
    /// Standard output is buffered here (a dump is many small lines) and flushed at the end
    /// and before anything goes to stderr; stderr is written at once.
    nonisolated(unsafe) private static var buffer: [UInt8] = []

    static func write(_ bytes: [UInt8]) {
        buffer += bytes
        if buffer.count >= 1 << 16 { flush() }
    }

    static func flush() {
        writeAll(1, buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    static func writeError(_ bytes: [UInt8]) {
        flush()
        writeAll(2, bytes)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { p in
            var offset = 0
            while offset < p.count {
                let n = Glibc.write(fd, p.baseAddress! + offset, p.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }  // a closed pipe: nothing more can be said
                offset += n
            }
        }
    }

    /// Standard input, whole, for `import`.
    static func readStandardInput() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return out }
            out += chunk[..<n]
        }
    }

    static func line(_ bytes: [UInt8]) {
        write(bytes + [0x0A])
    }

    static func line(_ text: String) {
        line(Array(text.utf8))
    }

    static func error(_ text: String) {
        writeError(Array(("botsession: " + text + "\n").utf8))
    }

    /// A key as `keys` prints it: as it is, or as a JSON string when it has a control character
    /// or starts with a quote (so every printed line stands for exactly one key).
    static func keyText(_ key: SessionKey) -> [UInt8] {
        let plain = key.bytes.first != 0x22 && !key.bytes.contains { $0 < 0x20 || $0 == 0x7F }
        if plain { return key.bytes }
        var out: [UInt8] = []
        JSONWriter.string(key.bytes, into: &out)
        return out
    }

    static func jsonString(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.string(bytes, into: &out)
        return out
    }
}
