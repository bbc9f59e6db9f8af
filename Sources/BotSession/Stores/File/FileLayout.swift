/// Where the file store keeps each key: grammY's file adapter layout where it can, an encoding
/// that cannot escape the directory everywhere else.
///
/// - A plain key (letters, digits, `-`, `_`, `.`; not starting with a dot, not ending in `..`,
///   at most 200 bytes) lives in `DIR/<last two characters>/<key>.json`, exactly where grammY's
///   file adapter puts it, so the two share files.
/// - Any other key is percent-encoded behind a `%` marker (`%` never occurs in a plain key, so
///   the two kinds cannot collide): every byte but letters, digits, `-` and `_` becomes `%XX`,
///   so no `/`, `.`, `..` or NUL reaches the file system. The encoded name is split into path
///   segments of at most 200 bytes (a key is at most 1,024 bytes, so at most 16 segments), which
///   keeps every file name under the 255-byte limit.
enum FileLayout {
    static let segmentLength = 200

    /// The path of `key` relative to the store's directory, as components.
    static func components(of key: SessionKey) -> [String] {
        let name = isPlain(key.bytes) ? key.bytes : encode(key.bytes)
        let sub = Array(name.suffix(2))
        var segments: [[UInt8]] = []
        var start = 0
        while start < name.count {
            segments.append(Array(name[start..<min(start + segmentLength, name.count)]))
            start += segmentLength
        }
        segments[segments.count - 1] += Array(".json".utf8)
        return ([sub] + segments).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The key whose file has the name made of `segments` (joined, without `.json`), or nil when
    /// no key is stored under that name.
    static func key(fromName name: [UInt8]) -> SessionKey? {
        let bytes: [UInt8]
        if name.first == 0x25 {  // %
            guard let decoded = decode(name) else { return nil }
            bytes = decoded
        } else {
            guard isPlain(name) else { return nil }
            bytes = name
        }
        return try? SessionKey(validating: bytes)
    }

    /// Whether grammY's layout can hold `key` as it is.
    static func isPlain(_ key: [UInt8]) -> Bool {
        guard !key.isEmpty, key.count <= segmentLength, key[0] != 0x2E else { return false }
        if key.count >= 2 && key[key.count - 1] == 0x2E && key[key.count - 2] == 0x2E { return false }
        return key.allSatisfy { isNameByte($0) || $0 == 0x2E }
    }

    /// Letters, digits, `-` and `_`.
    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
    }


    static func encode(_ key: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x25]
        for b in key {
            if isNameByte(b) {
                out.append(b)
            } else {
                out += [0x25, Bytes.hexDigit(b >> 4), Bytes.hexDigit(b & 15)]
            }
        }
        return out
    }

    static func decode(_ name: [UInt8]) -> [UInt8]? {
        let hex = Bytes.hexValue
        var out: [UInt8] = []
        var i = 1
        while i < name.count {
            if name[i] == 0x25 {
                guard i + 2 < name.count, let high = hex(name[i + 1]), let low = hex(name[i + 2]) else { return nil }
                out.append(high << 4 | low)
                i += 3
            } else {
                guard isNameByte(name[i]) else { return nil }
                out.append(name[i])
                i += 1
            }
        }
        return out
    }
}
