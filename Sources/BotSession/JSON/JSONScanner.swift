/// One value of a scanned JSON text. Containers are followed by their contents; `next` is the
/// index of the first token after this value's whole subtree, so siblings are one hop apart.
struct JSONToken {
    enum Kind: UInt8 { case object, array, string, number, `true`, `false`, null }

    var kind: Kind
    /// For strings: whether the text between the quotes contains a backslash escape.
    var escaped: Bool
    /// Byte offset of the token's first byte (the quote, bracket, digit or letter).
    var start: Int32
    /// Byte offset just past the token's last byte (past the closing quote or bracket).
    var end: Int32
    /// Index of the token after this one's subtree.
    var next: Int32
}

/// A syntax error: where and why.
struct JSONSyntaxError: Error {
    let offset: Int
    let reason: String
}

/// A strict RFC 8259 scanner that validates a JSON text in one pass and, when asked, records a
/// flat token list for navigation (see `JSONDocument`).
///
/// What it accepts is what JavaScript's `JSON.parse` accepts, which covers everything
/// `JSON.stringify` produces: any top-level value, numbers of any length (their text is kept, so
/// big integers stay exact), `\u0000` and lone surrogate escapes in strings, duplicate object
/// keys. What it refuses: invalid UTF-8, raw control characters in strings, a byte order mark,
/// trailing garbage, and nesting deeper than `maxDepth` (512) levels. It never recurses, so deep
/// input cannot exhaust the stack.
enum JSONScanner {
    static let maxDepth = 512

    /// Validates `text`; with `record`, appends its tokens to `tokens` (which must be empty).
    static func scan(
        _ text: UnsafeBufferPointer<UInt8>, record: Bool, into tokens: inout [JSONToken]
    ) throws(JSONSyntaxError) {
        if text.count >= Int(Int32.max) {
            throw JSONSyntaxError(offset: 0, reason: "text is larger than 2 GiB")
        }
        var s = State(p: text, record: record)
        try s.run(&tokens)
    }

    /// Validates `text` without recording tokens.
    static func validate(_ text: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        var none: [JSONToken] = []
        try scan(text, record: false, into: &none)
    }

    /// What is wrong with a string (`StringProblem.none`: nothing); the message is made only
    /// when there is one, so the scan returns plain values.
    enum StringProblem: UInt8 {
        case none, notClosed, endsInEscape, badUnicodeEscape, badEscape, controlCharacter, invalidUTF8
    }

    /// The message for `problem`, found at byte `at` of `p`.
    static func describe(_ problem: StringProblem, in p: UnsafeBufferPointer<UInt8>, at i: Int) -> String {
        switch problem {
        case .none: return ""
        case .notClosed: return "a string is not closed"
        case .endsInEscape: return "the text ends inside an escape"
        case .badUnicodeEscape: return "'\\u' must be followed by four hex digits"
        case .badEscape: return "invalid escape '\\\(Unicode.Scalar(p[i + 1]))' in a string"
        case .controlCharacter: return "control character 0x\(Bytes.hex(p[i])) must be escaped in a string"
        case .invalidUTF8: return "invalid UTF-8 in a string"
        }
    }

    /// Scans the string whose opening quote is at `start`: where it ends (past the closing
    /// quote), whether it has escapes, or what is wrong and where (`end` is then the offset).
    /// A static function over locals: this loop is the hottest part of reading an update.
    @inline(__always)
    static func scanString(_ p: UnsafeBufferPointer<UInt8>, openingQuoteAt start: Int) -> (end: Int, escaped: Bool, problem: StringProblem) {
        let n = p.count
        var i = start + 1
        var escaped = false
        while true {
            i = skipPlainASCII(p, from: i)
            guard i < n else { return (start, escaped, .notClosed) }
            let b = p[i]
            if b == 0x22 { return (i + 1, escaped, .none) }
            if b == 0x5C {
                escaped = true
                guard i + 1 < n else { return (i, escaped, .endsInEscape) }
                switch p[i + 1] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                    i += 2
                case 0x75:
                    guard i + 5 < n, isHex(p[i + 2]), isHex(p[i + 3]), isHex(p[i + 4]), isHex(p[i + 5]) else {
                        return (i, escaped, .badUnicodeEscape)
                    }
                    i += 6
                default:
                    return (i, escaped, .badEscape)
                }
                continue
            }
            if b < 0x20 { return (i, escaped, .controlCharacter) }
            let length = Bytes.utf8SequenceLength(p, at: i)
            if length == 0 { return (i, escaped, .invalidUTF8) }
            i += length
        }
    }

    @inline(__always)
    static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }

    /// The index of the first byte at or after `i` that is not plain string content: a quote,
    /// a backslash, a control character or a non-ASCII byte (or `p.count`).
    @inline(__always)
    static func skipPlainASCII(_ p: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        guard let base = p.baseAddress else { return i }
        let n = p.count
        var j = i
        // Eight bytes at a time while none of them is special (SWAR: a byte below 0x20, one
        // with the high bit set, a quote or a backslash makes the word stop the fast path).
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while j + 8 <= n {
            let word = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
            let control = (word &- ones &* 0x20) & ~word & highs
            let quote = ((word ^ (ones &* 0x22)) &- ones) & ~(word ^ (ones &* 0x22)) & highs
            let backslash = ((word ^ (ones &* 0x5C)) &- ones) & ~(word ^ (ones &* 0x5C)) & highs
            if (control | quote | backslash | (word & highs)) != 0 { break }
            j += 8
        }
        while j < n {
            let b = base[j]
            if b < 0x20 || b >= 0x80 || b == 0x22 || b == 0x5C { break }
            j += 1
        }
        return j
    }

    private struct State {
        let p: UnsafeBufferPointer<UInt8>
        let record: Bool
        var i = 0
        /// Open containers: whether each is an object, and its token index (when recording).
        var openIsObject: [Bool] = []
        var openToken: [Int32] = []

        init(p: UnsafeBufferPointer<UInt8>, record: Bool) {
            self.p = p
            self.record = record
        }

        func fail(_ reason: String) -> JSONSyntaxError {
            JSONSyntaxError(offset: i, reason: reason)
        }

        @inline(__always)
        mutating func skipWhitespace() {
            while i < p.count {
                let b = p[i]
                if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1 } else { break }
            }
        }

        mutating func run(_ tokens: inout [JSONToken]) throws(JSONSyntaxError) {
            if p.count >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF {
                throw fail("a byte order mark is not allowed")
            }
            // The loop alternates between reading a value and reading what follows a value
            // (a comma, a closing bracket, or the end of the text).
            while true {
                try value(&tokens)
                // After a value: close containers or move to the next element.
                while true {
                    skipWhitespace()
                    guard let isObject = openIsObject.last else {
                        if i != p.count { throw fail("unexpected \(describeByte()) after the JSON value") }
                        return
                    }
                    guard i < p.count else {
                        throw fail("the text ends inside an \(isObject ? "object" : "array")")
                    }
                    let b = p[i]
                    if b == 0x2C {  // ,
                        i += 1
                        if isObject { try memberName(&tokens) }
                        break
                    }
                    if (isObject && b == 0x7D) || (!isObject && b == 0x5D) {
                        i += 1
                        close(&tokens)
                        continue
                    }
                    throw fail(isObject ? "expected ',' or '}' but found \(describeByte())"
                                        : "expected ',' or ']' but found \(describeByte())")
                }
            }
        }

        mutating func close(_ tokens: inout [JSONToken]) {
            openIsObject.removeLast()
            if record {
                let t = Int(openToken.removeLast())
                tokens[t].end = Int32(i)
                tokens[t].next = Int32(tokens.count)
            }
        }

        /// Reads `"name" :` inside an object.
        mutating func memberName(_ tokens: inout [JSONToken]) throws(JSONSyntaxError) {
            skipWhitespace()
            guard i < p.count, p[i] == 0x22 else {
                throw fail("expected a member name in double quotes but found \(describeByte())")
            }
            try string(&tokens)
            skipWhitespace()
            guard i < p.count, p[i] == 0x3A else {
                throw fail("expected ':' after a member name but found \(describeByte())")
            }
            i += 1
        }

        /// Reads one value. A container is opened and, when empty, closed at once; otherwise
        /// its first member name (objects) is read and the next loop turn reads its first value.
        mutating func value(_ tokens: inout [JSONToken]) throws(JSONSyntaxError) {
            while true {
                skipWhitespace()
                guard i < p.count else { throw fail("expected a JSON value but the text ends") }
                let b = p[i]
                switch b {
                case 0x7B, 0x5B:  // { [
                    let isObject = b == 0x7B
                    if openIsObject.count >= JSONScanner.maxDepth {
                        throw fail("JSON is nested deeper than \(JSONScanner.maxDepth) levels")
                    }
                    if record {
                        openToken.append(Int32(tokens.count))
                        tokens.append(JSONToken(kind: isObject ? .object : .array, escaped: false,
                                                start: Int32(i), end: 0, next: 0))
                    }
                    openIsObject.append(isObject)
                    i += 1
                    skipWhitespace()
                    if i < p.count && p[i] == (isObject ? 0x7D : 0x5D) {
                        i += 1
                        close(&tokens)
                        return
                    }
                    if isObject {
                        try memberName(&tokens)
                    }
                    continue  // read the first element
                case 0x22:
                    try string(&tokens)
                case 0x2D, 0x30...0x39:
                    try number(&tokens)
                case 0x74:
                    try literal("true", .true, &tokens)
                case 0x66:
                    try literal("false", .false, &tokens)
                case 0x6E:
                    try literal("null", .null, &tokens)
                default:
                    throw fail("expected a JSON value but found \(describeByte())")
                }
                return
            }
        }

        mutating func literal(_ word: StaticString, _ kind: JSONToken.Kind, _ tokens: inout [JSONToken]) throws(JSONSyntaxError) {
            let start = i
            let n = word.utf8CodeUnitCount
            guard i + n <= p.count else { throw fail("expected '\(word)'") }
            let w = word.utf8Start
            for k in 0..<n where p[i + k] != w[k] {
                throw fail("expected '\(word)'")
            }
            i += n
            if record {
                tokens.append(JSONToken(kind: kind, escaped: false, start: Int32(start), end: Int32(i),
                                        next: Int32(tokens.count + 1)))
            }
        }

        mutating func number(_ tokens: inout [JSONToken]) throws(JSONSyntaxError) {
            let start = i
            if p[i] == 0x2D { i += 1 }
            guard i < p.count, isDigit(p[i]) else { throw fail("expected a digit after '-'") }
            if p[i] == 0x30 {
                i += 1
                if i < p.count && isDigit(p[i]) { throw fail("a number cannot have a leading zero") }
            } else {
                while i < p.count && isDigit(p[i]) { i += 1 }
            }
            if i < p.count && p[i] == 0x2E {
                i += 1
                guard i < p.count, isDigit(p[i]) else { throw fail("expected a digit after the decimal point") }
                while i < p.count && isDigit(p[i]) { i += 1 }
            }
            if i < p.count && (p[i] == 0x65 || p[i] == 0x45) {
                i += 1
                if i < p.count && (p[i] == 0x2B || p[i] == 0x2D) { i += 1 }
                guard i < p.count, isDigit(p[i]) else { throw fail("expected a digit in the exponent") }
                while i < p.count && isDigit(p[i]) { i += 1 }
            }
            if record {
                tokens.append(JSONToken(kind: .number, escaped: false, start: Int32(start), end: Int32(i),
                                        next: Int32(tokens.count + 1)))
            }
        }

        @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

        mutating func string(_ tokens: inout [JSONToken]) throws(JSONSyntaxError) {
            let start = i
            let scanned = JSONScanner.scanString(p, openingQuoteAt: start)
            guard scanned.problem == .none else {
                i = scanned.end
                throw fail(JSONScanner.describe(scanned.problem, in: p, at: i))
            }
            i = scanned.end
            if record {
                tokens.append(JSONToken(kind: .string, escaped: scanned.escaped, start: Int32(start), end: Int32(i),
                                        next: Int32(tokens.count + 1)))
            }
        }

        func describeByte() -> String {
            guard i < p.count else { return "the end of the text" }
            let b = p[i]
            if b >= 0x21 && b < 0x7F { return "'\(Unicode.Scalar(b))'" }
            return "byte 0x\(Bytes.hex(b))"
        }
    }
}
