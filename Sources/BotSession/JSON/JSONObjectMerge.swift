/// One JSON object with the members of another set on it, as Python's `dict.update` and
/// JavaScript's `Object.assign` do: a member of the patch replaces the member of that name where
/// it stands, or is added after the others. Names are compared decoded (`"\u0061"` is `"a"`);
/// of duplicate names the last value counts, at the place of the first (as `JSON.parse` and
/// `json.loads` read them). Values are copied as they are, never re-serialised.
enum JSONObjectMerge {
    /// `base` (nil, or a value that is not an object, counts as `{}`) with the members of
    /// `patch`, which must be an object (INVALID_JSON otherwise), as compact JSON text.
    static func merge(_ base: JSONText?, _ patch: JSONText) throws(BotSessionError) -> JSONText {
        let patchMembers = try members(of: patch, required: true)
        var out: [UInt8] = [0x7B]
        var used = [Bool](repeating: false, count: patchMembers.count)
        var index: [[UInt8]: Int] = [:]
        for (i, member) in patchMembers.enumerated() { index[member.name] = i }
        if let base {
            for member in try members(of: base, required: false) {
                var value = member.value
                if let i = index[member.name] {
                    value = patchMembers[i].value
                    used[i] = true
                }
                append(member.rawName, value, to: &out)
            }
        }
        for (i, member) in patchMembers.enumerated() where !used[i] {
            append(member.rawName, member.value, to: &out)
        }
        out.append(0x7D)
        return JSONText(unchecked: out)
    }

    /// Whether `text` is a JSON object with no members.
    static func isEmptyObject(_ text: JSONText) -> Bool {
        let inside = text.bytes.filter { !JSONText.isSpace($0) }
        return inside == [0x7B, 0x7D]
    }

    private struct Member {
        var name: [UInt8]      // decoded
        var rawName: [UInt8]   // as written, quotes included
        var value: [UInt8]     // exact text
    }

    private static func describe(_ kind: JSONToken.Kind) -> String {
        switch kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .true, .false: "a boolean"
        case .null: "null"
        }
    }

    private static func append(_ rawName: [UInt8], _ value: [UInt8], to out: inout [UInt8]) {
        if out.count > 1 { out.append(0x2C) }
        out += rawName
        out.append(0x3A)
        out += value
    }

    /// The members of object `text`, duplicates folded (last value, first place); `[]` for a
    /// value that is not an object, unless `required` (INVALID_JSON then: it is the patch).
    private static func members(of text: JSONText, required: Bool) throws(BotSessionError) -> [Member] {
        try text.bytes.withUnsafeBufferPointer { (p) throws(BotSessionError) -> [Member] in
            try JSONDocument.parse(p, what: "the patch") { (doc) throws(BotSessionError) -> [Member] in
                guard doc.kind(doc.root) == .object else {
                    if required {
                        throw BotSessionError(.invalidJSON, "the patch is \(describe(doc.kind(doc.root))), not a JSON object: a merge sets the members of an object such as {\"step\": 2}")
                    }
                    return []
                }
                var result: [Member] = []
                var seen: [[UInt8]: Int] = [:]
                for (name, value) in doc.members(doc.root) {
                    let decoded = doc.stringValue(name)
                    if let at = seen[decoded] {
                        result[at].value = doc.raw(value)
                    } else {
                        seen[decoded] = result.count
                        result.append(Member(name: decoded, rawName: doc.raw(name), value: doc.raw(value)))
                    }
                }
                return result
            }
        }
    }
}
