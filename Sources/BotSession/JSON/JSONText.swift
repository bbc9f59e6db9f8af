/// A JSON text that has been checked to be valid, kept exactly as it was given.
///
/// Session values are never re-serialised: `0.1` stays `0.1`, big integers stay exact, and
/// "unchanged" is a byte comparison with what the store holds.
public struct JSONText: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Checks `bytes` and keeps them. `what` names the text in the error ("session value"); it
    /// is only made when there is an error (reads name the key and store in it).
    public init(validating bytes: [UInt8], what: @autoclosure () -> String = "JSON text") throws(BotSessionError) {
        do {
            try bytes.withUnsafeBufferPointer { (p) throws(JSONSyntaxError) in try JSONScanner.validate(p) }
        } catch {
            throw JSONText.invalid(what(), error)
        }
        self.bytes = bytes
    }

    /// Checks the bytes at `p` and copies them.
    package init(validating p: UnsafeBufferPointer<UInt8>, what: @autoclosure () -> String = "JSON text") throws(BotSessionError) {
        do {
            try JSONScanner.validate(p)
        } catch {
            throw JSONText.invalid(what(), error)
        }
        self.bytes = Array(p)
    }

    public init(_ text: String, what: @autoclosure () -> String = "JSON text") throws(BotSessionError) {
        try self.init(validating: Array(text.utf8), what: what())
    }

    /// Text the caller has already validated (stored by this library, or built from valid parts).
    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    public static let null = JSONText(unchecked: Array("null".utf8))

    public var string: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { string }

    /// Whether the value is the literal `null` (whitespace around it allowed). A stored `null`
    /// counts as an absent session, and setting `null` deletes one.
    public var isNull: Bool {
        var start = 0
        var end = bytes.count
        while start < end && JSONText.isSpace(bytes[start]) { start += 1 }
        while end > start && JSONText.isSpace(bytes[end - 1]) { end -= 1 }
        return end - start == 4 && bytes[start] == 0x6E && bytes[start + 1] == 0x75
            && bytes[start + 2] == 0x6C && bytes[start + 3] == 0x6C
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    static func invalid(_ what: String, _ error: JSONSyntaxError) -> BotSessionError {
        BotSessionError(.invalidJSON, "\(what) is not valid JSON: \(error.reason) (at byte \(error.offset))")
    }

    /// Decodes the inside of a JSON string (without its quotes) to UTF-8. Lone surrogates (valid
    /// JSON, but not Unicode) become U+FFFD and set `loneSurrogate`. The input must have passed
    /// the scanner.
    static func unescape(_ s: UnsafeBufferPointer<UInt8>, loneSurrogate: inout Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = s[at + k]
                let d: UInt32 = c <= 0x39 ? UInt32(c - 0x30) : c <= 0x46 ? UInt32(c - 0x41 + 10) : UInt32(c - 0x61 + 10)
                v = v << 4 | d
            }
            return v
        }
        while i < s.count {
            let b = s[i]
            if b != 0x5C { out.append(b); i += 1; continue }
            let e = s[i + 1]
            i += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var code = hex4(i)
                i += 4
                if (0xD800...0xDBFF).contains(code), i + 5 < s.count, s[i] == 0x5C, s[i + 1] == 0x75 {
                    let low = hex4(i + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                if (0xD800...0xDFFF).contains(code) { loneSurrogate = true }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)  // " \ /
            }
        }
        return out
    }

    /// `bytes` as a JSON string literal, quotes included.
    static func quote(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for b in bytes {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20: out += Array("\\u00".utf8) + Array(Bytes.hex(b).utf8)
            default: out.append(b)
            }
        }
        out.append(0x22)
        return out
    }
}
