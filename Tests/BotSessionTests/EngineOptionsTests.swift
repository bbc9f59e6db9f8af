import BotSession
import Testing

/// Engine options in their JSON form, and configuration rules.
@Suite struct EngineOptionsTests {
    func failure(_ options: String) -> BotSessionError? {
        do {
            _ = try EngineOptions(json: Array(options.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func defaults() throws {
        let options = try EngineOptions(json: nil)
        #expect(options.fragments.count == 1)
        #expect(options.hasFragments == false)
        #expect(options.lockTimeoutMs == 10_000)
        #expect(options.maxValueBytes == 1 << 20)
        #expect(options.fragments[0].lazy == false)
        #expect(options.fragments[0].prefix.isEmpty)
    }

    @Test func fragmentsKeepTheirOrderAndOptions() throws {
        let options = try EngineOptions(json: Array("{\"fragments\": {\"z\": {\"lazy\": true}, \"a\": {\"key\": \"user\", \"prefix\": \"u:\"}}}".utf8))
        #expect(options.hasFragments)
        #expect(options.fragments.map(\.name) == ["z", "a"])
        #expect(options.fragments[0].lazy)
        #expect(options.fragments[1].prefix == Array("u:".utf8))
    }

    @Test func initialKeepsItsExactText() throws {
        let options = try EngineOptions(json: Array("{\"initial\": {\"pi\": 3.14159265358979323846, \"n\": 1E2}}".utf8))
        guard case .json(let value) = options.fragments[0].initial else {
            Issue.record("no initial value")
            return
        }
        #expect(value.string == "{\"pi\": 3.14159265358979323846, \"n\": 1E2}")
    }

    @Test func badOptionsSayWhatIsWrong() {
        #expect(failure("{\"key\": \"chats\"}")?.status == .invalidOption)
        #expect(failure("{\"lazy\": 1}")?.message == "engine options: \"lazy\" must be true or false, not the number 1")
        #expect(failure("{\"fragments\": {\"a\": {\"lazzy\": true}}}")?.message
            == "fragment \"a\": unknown option \"lazzy\"; known options are \"lazy\", \"key\", \"prefix\", \"initial\"")
        #expect(failure("{\"max_value_bytes\": 2147483648}")?.status == .invalidOption)
        #expect(failure("{\"fragments\": {\"a\": {}}, \"prefix\": \"x\"}")?.status == .invalidOption)
        #expect(failure("{]")?.status == .invalidJSON)
    }

    @Test func configurationFreezesAtFirstBegin() throws {
        let engine = try Engine(json: nil)
        try engine.setStore(MemoryStore(), fragment: nil)
        try engine.begin(update: "{}").rollback()
        #expect(throws: BotSessionError.self) { try engine.setStore(MemoryStore(), fragment: nil) }
        #expect(throws: BotSessionError.self) { try engine.setInitial(.none) }
    }

    @Test func fragmentWithoutStoreGetsItsOwnMemoryStore() throws {
        let engine = try Engine(json: "{\"fragments\": {\"a\": {}, \"b\": {}}}")
        let update = "{\"message\":{\"chat\":{\"id\":3}}}"
        let u = try engine.begin(update: update)
        try u.set("a", "1")
        try u.commit()
        // Same key, but each fragment has a store of its own: no clash, b still empty.
        let v = try engine.begin(update: update)
        #expect(try v.value("a") == "1")
        #expect(try v.value("b") == nil)
        v.rollback()
    }
}
