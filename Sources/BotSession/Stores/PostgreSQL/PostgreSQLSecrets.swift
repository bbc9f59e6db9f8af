/// What must never appear in a message about a PostgreSQL store: the URI, its user information
/// and its passwords, in every form libpq might echo.
///
/// A password with an unencoded `/`, `@` or `:` makes libpq read part of it as a host, a port or
/// a database (`postgresql://alice:Sup3r/Secret@host/db` has the host `alice`, the port `Sup3r`
/// and the database `Secret@host/db`), and its messages then quote those parts. So the user
/// information as the user meant it, everything between `://` and the last `@` of the whole URI,
/// is secret, whatever libpq made of it; so is its password part (after its first `:`), with its
/// percent-decoded form and each piece of it split at `:`, `/` and `@`; so is a `password=` in
/// the URI's query, and the password libpq parsed (from a URI or a `key=value` connection
/// string). The user name alone is not: it is often also the database's name.
enum PostgreSQLSecrets {
    /// Secrets shorter than this are hidden only as whole words (bounded by characters other
    /// than letters and digits), so that a one-letter user name does not blank every letter of a
    /// message; longer ones are hidden wherever they occur.
    static let wordOnlyBelow = 4

    /// The secret texts of `uri`, given the password libpq parsed from it ("" for none).
    static func secrets(in uri: String, password: String) -> [String] {
        var found: [[UInt8]] = [Array(uri.utf8), Array(password.utf8)]
        let bytes = Array(uri.utf8)
        func addWithPieces(_ text: ArraySlice<UInt8>) {
            let text = Array(text)
            found.append(text)
            found.append(percentDecoded(text))
            for piece in text.split(whereSeparator: { $0 == 0x3A || $0 == 0x2F || $0 == 0x40 }) {
                found.append(Array(piece))
                found.append(percentDecoded(Array(piece)))
            }
        }
        if let schemeEnd = find(bytes, Array("://".utf8)) {
            let start = schemeEnd + 3
            if let at = bytes[start...].lastIndex(of: 0x40) {
                // The user information, whole, and the password as the user meant it: all after
                // its first ':'. The user name alone is not secret: it is often the database's
                // name too, and hiding it would hide every location.
                if let colon = bytes[start..<at].firstIndex(of: 0x3A) {
                    found.append(Array(bytes[start..<at]))
                    found.append(percentDecoded(Array(bytes[start..<at])))
                    addWithPieces(bytes[(colon + 1)..<at])
                }
            }
            if let question = bytes[start...].firstIndex(of: 0x3F) {
                for parameter in bytes[(question + 1)...].split(separator: 0x26) {
                    guard let equals = parameter.firstIndex(of: 0x3D) else { continue }
                    let name = percentDecoded(Array(parameter[parameter.startIndex..<equals]))
                    if name == Array("password".utf8) {
                        addWithPieces(parameter[(equals + 1)...])
                    }
                }
            }
        }
        var unique: [String] = []
        for secret in found where !secret.isEmpty {
            let text = String(decoding: secret, as: UTF8.self)
            if !unique.contains(text) { unique.append(text) }
        }
        // Longest first, so that a longer secret is hidden whole before its pieces are looked for.
        return unique.sorted { $0.utf8.count > $1.utf8.count }
    }

    /// `text` with every secret replaced by `***`.
    static func hide(_ text: String, _ secrets: [String]) -> String {
        var bytes = Array(text.utf8)
        for secret in secrets where !secret.isEmpty {
            bytes = replace(Array(secret.utf8), in: bytes, wordOnly: secret.utf8.count < wordOnlyBelow)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `text` contains any of `secrets` (as `hide` finds them).
    static func contains(_ text: String, _ secrets: [String]) -> Bool {
        hide(text, secrets) != text
    }

    /// `location` (host:port/database, shown in messages and part of the store's identity), or,
    /// when it holds secret text (libpq read part of a password as the host, port or database),
    /// a neutral text instead. The neutral text carries a hash of the real location, seeded per
    /// process, so two stores on different servers keep different identities (and key locks)
    /// while nothing of the location can be learned from it.
    static func location(_ location: String, hiding secrets: [String]) -> String {
        guard contains(location, secrets) else { return location }
        var hasher = Hasher()
        hasher.combine(location)
        let tag = UInt64(bitPattern: Int64(hasher.finalize()))
        return "a server whose address is not shown (libpq read part of the URI's user information as host, port or database; percent-encode ':', '/', '@' in the user and password), #\(String(tag, radix: 16))"
    }

    private static func find(_ bytes: [UInt8], _ needle: [UInt8]) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        for i in 0...(bytes.count - needle.count) where bytes[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b >= 0x80
    }

    private static func replace(_ secret: [UInt8], in bytes: [UInt8], wordOnly: Bool) -> [UInt8] {
        guard secret.count <= bytes.count else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let end = i + secret.count
            if end <= bytes.count && bytes[i..<end].elementsEqual(secret)
                && (!wordOnly || ((i == 0 || !isWordByte(bytes[i - 1])) && (end == bytes.count || !isWordByte(bytes[end])))) {
                out += Array("***".utf8)
                i = end
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// `text` with `%XX` escapes decoded (a malformed escape stays as it is).
    static func percentDecoded(_ text: [UInt8]) -> [UInt8] {
        let hex = Bytes.hexValue
        var out: [UInt8] = []
        var i = 0
        while i < text.count {
            if text[i] == 0x25, i + 2 < text.count, let high = hex(text[i + 1]), let low = hex(text[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}
