/// One line of a store dump (`botsession export`, `import`, `copy`): a JSON object
/// `{"key": "<key>", "value": <the stored JSON text>}`. The value is kept exactly as stored
/// (an enhancer's wrapper included), so a dump loses nothing.
package enum DumpLine {
    /// The line for `key` and `value`, without a newline.
    package static func format(key: SessionKey, value: JSONText) -> [UInt8] {
        var out: [UInt8] = Array("{\"key\":".utf8)
        out.reserveCapacity(key.bytes.count + value.bytes.count + 20)
        JSONWriter.string(key.bytes, into: &out)
        out += Array(",\"value\":".utf8)
        out += value.bytes
        out.append(0x7D)
        return out
    }

    /// The key and value of one line. A line that is not such an object is INVALID_JSON, with
    /// a message saying what it lacks; a key that is too long is TOO_BIG.
    package static func parse(_ line: [UInt8]) throws(BotSessionError) -> (key: SessionKey, value: JSONText) {
        try line.withUnsafeBufferPointer { (p) throws(BotSessionError) -> (key: SessionKey, value: JSONText) in
            try JSONDocument.parse(p, what: "the line") { (doc) throws(BotSessionError) -> (key: SessionKey, value: JSONText) in
                guard doc.kind(doc.root) == .object else {
                    throw BotSessionError(.invalidJSON, "the line is not a JSON object; each line is {\"key\": \"...\", \"value\": ...}")
                }
                guard let k = doc.member(doc.root, "key"), doc.kind(k) == .string, let keyBytes = doc.keyText(k) else {
                    throw BotSessionError(.invalidJSON, "the line has no \"key\" string; each line is {\"key\": \"...\", \"value\": ...}")
                }
                guard let v = doc.member(doc.root, "value") else {
                    throw BotSessionError(.invalidJSON, "the line has no \"value\"; each line is {\"key\": \"...\", \"value\": ...}")
                }
                for member in doc.members(doc.root) {
                    let name = doc.stringValue(member.name)
                    if name != Array("key".utf8) && name != Array("value".utf8) {
                        throw BotSessionError(.invalidJSON, "the line has an unknown member \(Bytes.describe(name)); each line is {\"key\": \"...\", \"value\": ...}")
                    }
                }
                let key: SessionKey
                do throws(BotSessionError) {
                    key = try SessionKey(validating: keyBytes, what: "the line's key")
                } catch {
                    throw error.status == .misuse ? BotSessionError(.invalidJSON, error.message) : error
                }
                return (key, JSONText(unchecked: doc.raw(v)))
            }
        }
    }
}
