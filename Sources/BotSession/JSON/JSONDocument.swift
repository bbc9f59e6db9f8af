/// A scanned JSON text for reading: member lookup, strings, numbers and exact sub-texts.
///
/// It borrows the bytes it was scanned from, so it lives only inside `JSONDocument.parse`'s
/// closure; take copies of what must outlive it.
struct JSONDocument {
    let text: UnsafeBufferPointer<UInt8>
    let tokens: [JSONToken]

    /// Scans `text` and hands the document to `body`; a syntax error becomes INVALID_JSON with
    /// `what` naming the text ("the update", "engine options").
    static func parse<T>(
        _ text: UnsafeBufferPointer<UInt8>, what: @autoclosure () -> String,
        _ body: (JSONDocument) throws(BotSessionError) -> T
    ) throws(BotSessionError) -> T {
        var tokens: [JSONToken] = []
        tokens.reserveCapacity(64)
        do {
            try JSONScanner.scan(text, record: true, into: &tokens)
        } catch {
            throw JSONText.invalid(what(), error)
        }
        return try body(JSONDocument(text: text, tokens: tokens))
    }

    /// The root value's token index.
    var root: Int { 0 }

    func kind(_ t: Int) -> JSONToken.Kind { tokens[t].kind }

    /// The value of member `name` of object `t` (the last one, as `JSON.parse` keeps the last of
    /// duplicate names), or nil when `t` is not an object or has no such member. A member whose
    /// value is `null` is returned; use `present` to treat it as missing.
    func member(_ t: Int, _ name: StaticString) -> Int? {
        guard tokens[t].kind == .object else { return nil }
        let nameBytes = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        var found: Int?
        var k = t + 1
        let end = Int(tokens[t].next)
        while k < end {
            let value = k + 1
            if nameEquals(k, nameBytes) { found = value }
            k = Int(tokens[value].next)
        }
        return found
    }

    /// `member(t, name)` when it is present and not `null`, as JavaScript's `??` sees it.
    func present(_ t: Int?, _ name: StaticString) -> Int? {
        guard let t, let v = member(t, name), tokens[v].kind != .null else { return nil }
        return v
    }

    /// The members of object `t` as (name token, value token) pairs, in text order.
    func members(_ t: Int) -> [(name: Int, value: Int)] {
        guard tokens[t].kind == .object else { return [] }
        var out: [(Int, Int)] = []
        var k = t + 1
        let end = Int(tokens[t].next)
        while k < end {
            out.append((k, k + 1))
            k = Int(tokens[k + 1].next)
        }
        return out
    }

    /// The elements of array `t`, in order.
    func elements(_ t: Int) -> [Int] {
        guard tokens[t].kind == .array else { return [] }
        var out: [Int] = []
        var k = t + 1
        let end = Int(tokens[t].next)
        while k < end {
            out.append(k)
            k = Int(tokens[k].next)
        }
        return out
    }

    private func nameEquals(_ k: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let tok = tokens[k]
        if tok.escaped { return stringValue(k).elementsEqual(name) }
        let start = Int(tok.start) + 1
        let length = Int(tok.end) - 1 - start
        guard length == name.count else { return false }
        for j in 0..<length where text[start + j] != name[j] { return false }
        return true
    }

    /// The exact text of value `t`.
    func raw(_ t: Int) -> [UInt8] {
        Array(text[Int(tokens[t].start)..<Int(tokens[t].end)])
    }

    /// The decoded UTF-8 bytes of string `t`. A lone surrogate escape (valid JSON, but not
    /// Unicode) decodes to U+FFFD.
    func stringValue(_ t: Int) -> [UInt8] {
        decoded(t).bytes
    }

    /// String `t`'s decoded bytes, and whether it held a lone surrogate escape.
    private func decoded(_ t: Int) -> (bytes: [UInt8], loneSurrogate: Bool) {
        let tok = tokens[t]
        let inside = UnsafeBufferPointer(rebasing: text[Int(tok.start) + 1..<Int(tok.end) - 1])
        if !tok.escaped { return (Array(inside), false) }
        var lone = false
        let bytes = JSONText.unescape(inside, loneSurrogate: &lone)
        return (bytes, lone)
    }

    /// Number `t` as a double (nil for any other kind of value).
    func number(_ t: Int) -> Double? {
        tokens[t].kind == .number ? Double(String(decoding: raw(t), as: UTF8.self)) : nil
    }

    func string(_ t: Int) -> String { String(decoding: stringValue(t), as: UTF8.self) }

    /// A number or string as key text, the way JavaScript's `String(id)` writes an id: numbers
    /// as `JSNumber` formats them, strings as their decoded text. A string that is not valid
    /// Unicode (a lone surrogate escape) has no key text, rather than one shared with another
    /// string; so has any other kind of value.
    func keyText(_ t: Int) -> [UInt8]? {
        switch tokens[t].kind {
        case .string:
            let (bytes, lone) = decoded(t)
            return lone ? nil : bytes
        case .number:
            let literal = raw(t)
            // Integer literals of up to 15 digits are exact doubles: JavaScript writes them as
            // they are (but -0 as 0). Everything else goes through a double, as in JavaScript.
            let digits = literal.first == 0x2D ? literal.count - 1 : literal.count
            if digits <= 15 && !literal.contains(where: { $0 == 0x2E || $0 == 0x65 || $0 == 0x45 }) {
                return literal == [0x2D, 0x30] ? [0x30] : literal
            }
            guard let value = number(t) else { return literal }
            return Array(JSNumber.format(value).utf8)
        default:
            return nil
        }
    }

    /// Whether `t` is the literal `true`.
    func isTrue(_ t: Int?) -> Bool { t.map { tokens[$0].kind == .true } ?? false }
}
