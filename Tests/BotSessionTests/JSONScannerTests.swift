import CJansson
import Testing

@testable import BotSession

/// The scanner accepts what JavaScript's JSON.parse accepts and nothing else.
@Suite struct JSONScannerTests {
    static let valid = [
        "0", "-0", "1", "-1", "0.1", "1e5", "1E+5", "1e-5", "-1.5e-10", "123456789012345678901234567890",
        "true", "false", "null", "\"\"", "\"a\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0000\"", "\"\\ud800\"",
        "\"\\udc00\\ud800\"", "\"\\ud83c\\udf55\"", "\"🍕 пицца\"", "[]", "{}", "[1,2,3]", " \t\r\n[ 1 , 2 ] \n",
        "{\"a\":1,\"a\":2}", "{\"\":{}}", "[[[]]]", "{\"x\":[{\"y\":null}]}", "\"\u{7F}\"",
    ]

    static let invalid = [
        "", " ", "01", "-", "1.", ".1", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "-Infinity",
        "tru", "nul", "True", "\"", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "'a'", "[1,]", "[,1]",
        "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1,}", "[1 2]", "{}{}", "[] x", "\"\t\"",
        "\"\n\"", "\u{FEFF}1", "[", "]", "{", "}", "\"\\\"", "1 2", "//", "/*x*/1",
    ]

    @Test(arguments: valid)
    func acceptsValid(_ text: String) throws {
        _ = try JSONText(text)
    }

    @Test(arguments: invalid)
    func refusesInvalid(_ text: String) {
        #expect(throws: BotSessionError.self) { try JSONText(text) }
        do {
            _ = try JSONText(text)
        } catch {
            #expect(error.status == .invalidJSON)
        }
    }

    @Test func refusesInvalidUTF8() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0x80, 0x22],
        ]
        for bytes in cases {
            #expect(throws: BotSessionError.self) { try JSONText(validating: bytes) }
        }
        #expect((try? JSONText(validating: [0x22, 0xE2, 0x82, 0xAC, 0x22])) != nil)  // "€"
    }

    @Test func depthLimitIs512() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONText(ok)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        do {
            _ = try JSONText(tooDeep)
            Issue.record("513 levels were accepted")
        } catch {
            #expect(error.message.contains("deeper than 512"))
        }
        // Deep input far beyond the limit fails fast instead of exhausting the stack.
        let huge = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: BotSessionError.self) { try JSONText(huge) }
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONText("{\"a\": [1, 2,, 3]}", what: "the test value")
            Issue.record("accepted")
        } catch {
            #expect(error.message == "the test value is not valid JSON: expected a JSON value but found ',' (at byte 12)")
        }
    }

    /// Jansson, a second strict parser, agrees on every text both are meant to judge alike
    /// (Jansson alone refuses lone surrogates and integers beyond 64 bits, which
    /// JSON.stringify can produce; those are in `valid` above).
    @Test func agreesWithJansson() {
        let agreeing = JSONScannerTests.valid.filter {
            !$0.contains("\\ud800") && !$0.contains("\\udc00") && $0 != "123456789012345678901234567890"
        } + JSONScannerTests.invalid
        for text in agreeing {
            var error = json_error_t()
            let flags = Int(JSON_DECODE_ANY) | Int(JSON_ALLOW_NUL)
            let parsed = text.withCString { json_loadb($0, text.utf8.count, flags, &error) }
            let janssonAccepts = parsed != nil
            if let parsed { json_decref(parsed) }
            let weAccept = (try? JSONText(text)) != nil
            #expect(weAccept == janssonAccepts, "disagreement on \(text.debugDescription)")
        }
    }

    @Test func nullDetection() throws {
        #expect(try JSONText("null").isNull)
        #expect(try JSONText(" \n null\t").isNull)
        #expect(try !JSONText("\"null\"").isNull)
        #expect(try !JSONText("[null]").isNull)
        #expect(try !JSONText("0").isNull)
    }

    @Test func documentNavigation() throws {
        let text = "{\"a\":{\"b\":[1,{\"c\":\"x\\u00e9\\ud83c\\udf55\"}]},\"a\":{\"b\":7},\"n\":null,\"id\":-0,\"f\":1.0e3}"
        try UpdateJSON.with(text) { (update) throws(BotSessionError) in
            try JSONDocument.parse(update.bytes, what: "t") { (doc) throws(BotSessionError) in
                let a = doc.member(doc.root, "a")!
                // The last of duplicate members wins, as in JSON.parse.
                #expect(doc.raw(doc.member(a, "b")!) == Array("7".utf8))
                #expect(doc.member(doc.root, "n") != nil)
                #expect(doc.present(doc.root, "n") == nil)
                #expect(doc.present(doc.root, "missing") == nil)
                #expect(doc.keyText(doc.member(doc.root, "id")!) == Array("0".utf8))
                #expect(doc.keyText(doc.member(doc.root, "f")!) == Array("1000".utf8))
            }
        }
        let escaped = "{\"s\":\"x\\u00e9\\ud83c\\udf55\\n\\ud800\"}"
        try UpdateJSON.with(escaped) { (update) throws(BotSessionError) in
            try JSONDocument.parse(update.bytes, what: "t") { (doc) throws(BotSessionError) in
                #expect(doc.string(doc.member(doc.root, "s")!) == "xé🍕\n\u{FFFD}")
            }
        }
    }
}

/// The scanner reads plain string content eight bytes at a time: special bytes must be found at
/// every position relative to those eight-byte words.
@Suite struct JSONScannerWordTests {
    @Test(arguments: 0..<20)
    func specialBytesAtEveryOffset(_ offset: Int) throws {
        let plain = String(repeating: "a", count: offset)
        let tail = String(repeating: "b", count: 11)
        #expect((try? JSONText("\"\(plain)\(tail)\"")) != nil)
        #expect((try? JSONText("\"\(plain)\\n\(tail)\"")) != nil)
        #expect((try? JSONText("\"\(plain)é\(tail)\"")) != nil)
        #expect((try? JSONText("\"\(plain)\u{7F}\(tail)\"")) != nil)
        #expect((try? JSONText("\"\(plain)\t\(tail)\"")) == nil)      // raw control character
        #expect((try? JSONText("\"\(plain)\u{1F}\(tail)\"")) == nil)
        #expect((try? JSONText("\"\(plain)\"\(tail)\"")) == nil)      // a quote ends the string early
        #expect((try? JSONText(validating: Array("\"\(plain)".utf8) + [0xFF] + Array("\(tail)\"".utf8))) == nil)
        #expect((try? JSONText("\"\(plain)\\x\(tail)\"")) == nil)    // invalid escape
        #expect((try? JSONText("\"\(plain)")) == nil)                  // never closed
    }
}
