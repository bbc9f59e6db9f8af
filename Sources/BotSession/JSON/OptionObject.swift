/// An options object (`{"ttl_ms": 60000}`) read member by member with type checks.
///
/// Every member must be consumed: `finish()` reports the first unknown option as
/// INVALID_OPTION, because an option silently ignored is a bug waiting to happen.
struct OptionObject {
    /// One member's value, copied out of the document.
    final class Value {
        let kind: JSONToken.Kind
        /// The exact text of the value.
        let raw: [UInt8]
        /// Decoded text, for strings.
        let string: String?
        /// Members, for objects.
        let members: [(name: String, value: Value)]

        init(kind: JSONToken.Kind, raw: [UInt8], string: String?, members: [(name: String, value: Value)]) {
            self.kind = kind
            self.raw = raw
            self.string = string
            self.members = members
        }
    }

    /// Names `what` in messages ("engine options", "sqlite store options").
    let what: String
    private var members: [(name: String, value: Value)]
    private var consumed: Set<String> = []

    /// Parses `json` (nil or empty means `{}`), which must be a JSON object without duplicate
    /// names.
    init(json: [UInt8]?, what: String) throws(BotSessionError) {
        guard let json, !json.isEmpty else {
            try self.init(object: Value(kind: .object, raw: [0x7B, 0x7D], string: nil, members: []), what: what)
            return
        }
        let parsed = try json.withUnsafeBufferPointer { (p) throws(BotSessionError) -> Value in
            try JSONDocument.parse(p, what: what) { (doc) throws(BotSessionError) in
                OptionObject.copy(doc, doc.root)
            }
        }
        guard parsed.kind == .object else {
            throw BotSessionError(.invalidOption, "\(what) must be a JSON object such as {}, not \(OptionObject.describe(parsed))")
        }
        try self.init(object: parsed, what: what)
    }

    /// Reads a nested object value.
    init(object: Value, what: String) throws(BotSessionError) {
        self.what = what
        members = object.members
        var seen: Set<String> = []
        for member in members where !seen.insert(member.name).inserted {
            throw BotSessionError(.invalidOption, "\(what): option \"\(member.name)\" is given twice")
        }
    }

    private static func copy(_ doc: JSONDocument, _ t: Int) -> Value {
        let kind = doc.kind(t)
        let members = kind == .object
            ? doc.members(t).map { (name: doc.string($0.name), value: copy(doc, $0.value)) } : []
        return Value(kind: kind, raw: doc.raw(t), string: kind == .string ? doc.string(t) : nil, members: members)
    }

    static func describe(_ value: Value) -> String {
        switch value.kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "the number \(String(decoding: value.raw, as: UTF8.self))"
        case .true, .false: "a boolean"
        case .null: "null"
        }
    }

    /// Whether option `name` is given (without consuming it).
    func has(_ name: String) -> Bool { members.contains { $0.name == name } }

    private mutating func take(_ name: String) -> Value? {
        guard let member = members.first(where: { $0.name == name }) else { return nil }
        consumed.insert(name)
        return member.value
    }

    private func wrongType(_ name: String, _ expected: String, _ value: Value) -> BotSessionError {
        BotSessionError(.invalidOption, "\(what): \"\(name)\" must be \(expected), not \(OptionObject.describe(value))")
    }

    mutating func bool(_ name: String) throws(BotSessionError) -> Bool? {
        guard let value = take(name) else { return nil }
        switch value.kind {
        case .true: return true
        case .false: return false
        default: throw wrongType(name, "true or false", value)
        }
    }

    mutating func string(_ name: String) throws(BotSessionError) -> String? {
        guard let value = take(name) else { return nil }
        guard let string = value.string else { throw wrongType(name, "a string", value) }
        return string
    }

    /// A whole number in `range`.
    mutating func integer(_ name: String, in range: ClosedRange<Int64>) throws(BotSessionError) -> Int64? {
        guard let value = take(name) else { return nil }
        let text = String(decoding: value.raw, as: UTF8.self)
        let expected = "a whole number from \(range.lowerBound) to \(range.upperBound)"
        guard value.kind == .number else { throw wrongType(name, expected, value) }
        let number: Int64?
        if let exact = Int64(text) {
            number = exact
        } else if let d = Double(text), d == d.rounded(), abs(d) < 9.2e18 {
            number = Int64(d)
        } else {
            number = nil
        }
        guard let number, range.contains(number) else {
            throw BotSessionError(.invalidOption, "\(what): \"\(name)\" must be \(expected), not \(text)")
        }
        return number
    }

    /// Any JSON value, as its exact text.
    mutating func json(_ name: String) -> JSONText? {
        take(name).map { JSONText(unchecked: $0.raw) }
    }

    /// A nested object, whose members the caller reads as options of their own.
    mutating func object(_ name: String) throws(BotSessionError) -> Value? {
        guard let value = take(name) else { return nil }
        guard value.kind == .object else { throw wrongType(name, "an object", value) }
        return value
    }

    /// Fails on the first member nobody asked for, naming the options that exist.
    func finish(known: [String]) throws(BotSessionError) {
        for member in members where !consumed.contains(member.name) {
            let list = known.map { "\"\($0)\"" }.joined(separator: ", ")
            throw BotSessionError(.invalidOption, "\(what): unknown option \"\(member.name)\"; known options are \(list.isEmpty ? "none" : list)")
        }
    }
}
