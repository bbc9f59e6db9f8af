/// Table names from a store's options (SQLite and PostgreSQL).
enum SQLTable {
    /// `name` in double quotes, ready for a statement. Only 1 to 63 letters, digits and
    /// underscores, not starting with a digit, are allowed: such a name needs no escaping and
    /// fits PostgreSQL's limit. Anything else is INVALID_OPTION.
    static func quoted(_ name: String) throws(BotSessionError) -> String {
        let bytes = Array(name.utf8)
        let valid = (1...63).contains(bytes.count) && !(0x30...0x39).contains(bytes[0])
            && bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
        guard valid else {
            throw BotSessionError(.invalidOption, "table name \(Bytes.describe(bytes)) is not allowed; use 1 to 63 letters, digits and underscores, not starting with a digit")
        }
        return "\"\(name)\""
    }
}
