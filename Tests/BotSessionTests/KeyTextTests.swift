import BotSession
import Testing

/// Ids become keys the way JavaScript's String(id) writes them, as grammY's keys are made.
@Suite struct KeyTextTests {
    func key(_ update: String) throws -> String? {
        let engine = try Engine(json: nil)
        let u = try engine.begin(update: update)
        defer { u.rollback() }
        return try u.key()?.text
    }

    func chatKey(_ id: String) throws -> String? {
        try key("{\"message\":{\"chat\":{\"id\":\(id)}}}")
    }

    @Test(arguments: [
        ("42", "42"), ("-0", "0"), ("1.50", "1.5"), ("1e16", "10000000000000000"), ("1E2", "100"),
        ("12345678901234567890", "12345678901234567000"), ("9007199254740993", "9007199254740992"),
        ("123456789012345", "123456789012345"), ("1e21", "1e+21"), ("1.5e300", "1.5e+300"), ("1e-7", "1e-7"),
        ("0.000001", "0.000001"), ("-2.5e-3", "-0.0025"), ("1E400", "Infinity"), ("\"bc-1\"", "bc-1"),
        (#""x\u00e9""#, "x\u{E9}"),
    ])
    func idsAsJavaScriptWritesThem(_ id: String, _ expected: String) throws {
        #expect(try chatKey(id) == expected)
    }

    @Test func idsThatCannotBeKeys() throws {
        // A lone surrogate is not Unicode: no key, rather than one shared with another id.
        #expect(try chatKey(#""a\ud800b""#) == nil)
        #expect(try chatKey("true") == nil)
        #expect(try chatKey("{}") == nil)
        // A NUL inside an id is the update's fault: INVALID_JSON, with a message.
        do {
            _ = try chatKey(#""a\u0000b""#)
            Issue.record("a key with NUL was accepted")
        } catch let error as BotSessionError {
            #expect(error.status == .invalidJSON)
            #expect(error.message.contains("NUL"))
        }
    }
}
