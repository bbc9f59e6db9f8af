/// Helpers for byte strings: keys and JSON texts are bytes, never Swift `String` values, so that
/// canonically equivalent but different texts stay different.
enum Bytes {
    /// The upper-case hexadecimal digit of `value` (0...15).
    static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x41 + value - 10
    }

    /// The value of the hexadecimal digit `b` (either case), or nil.
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    /// `text` as its UTF-8 bytes.
    static func of(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Whether `bytes` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let length = utf8SequenceLength(bytes, at: i)
            if length == 0 { return false }
            i += length
        }
        return true
    }

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { isValidUTF8($0) }
    }

    /// The length of the well-formed multi-byte UTF-8 sequence starting at `i`, or 0 when it is
    /// malformed. `bytes[i]` must be >= 0x80.
    @inline(__always)
    static func utf8SequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let n = bytes.count
        let b0 = bytes[i]
        @inline(__always) func cont(_ j: Int) -> Bool { j < n && bytes[j] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return cont(i + 1) ? 2 : 0
        case 0xE0:
            return i + 2 < n && (0xA0...0xBF).contains(bytes[i + 1]) && cont(i + 2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(i + 1) && cont(i + 2) ? 3 : 0
        case 0xED:  // U+D000...U+D7FF only; surrogates are not UTF-8
            return i + 2 < n && (0x80...0x9F).contains(bytes[i + 1]) && cont(i + 2) ? 3 : 0
        case 0xF0:
            return i + 3 < n && (0x90...0xBF).contains(bytes[i + 1]) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF4:
            return i + 3 < n && (0x80...0x8F).contains(bytes[i + 1]) && cont(i + 2) && cont(i + 3) ? 4 : 0
        default:
            return 0
        }
    }

    /// A short printable rendering of `bytes` for error messages, in single quotes: valid UTF-8
    /// is shown as text (quotes, backslashes and control characters escaped), anything else as
    /// `\xNN` escapes; cut after `limit` bytes.
    static func describe(_ bytes: some Collection<UInt8>, limit: Int = 80) -> String {
        let head = Array(bytes.prefix(limit))
        var out = "'"
        if isValidUTF8(head) {
            for s in String(decoding: head, as: UTF8.self).unicodeScalars {
                switch s.value {
                case 0x27: out += "\\'"
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0..<0x20, 0x7F: out += "\\x" + hex(UInt8(s.value))
                default: out.unicodeScalars.append(s)
                }
            }
        } else {
            for b in head {
                if b >= 0x20 && b < 0x7F && b != 0x27 && b != 0x5C {
                    out.unicodeScalars.append(Unicode.Scalar(b))
                } else {
                    out += "\\x" + hex(b)
                }
            }
        }
        out += "'"
        if bytes.count > limit { out += "... (\(bytes.count) bytes)" }
        return out
    }

    static func hex(_ b: UInt8) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        return String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
    }
}
