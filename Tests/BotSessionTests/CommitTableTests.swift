import BotSession
import Testing

/// SPEC §5: what commit writes, observed through a counting store.
@Suite struct CommitTableTests {
    static let group = "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-5,\"type\":\"group\"},\"from\":{\"id\":7}}}"
    static let noChat = "{\"update_id\":2,\"inline_query\":{\"id\":\"q\",\"from\":{\"id\":7},\"query\":\"\",\"offset\":\"\"}}"

    func engine(_ options: String = "{}", store: any SessionStore) throws -> Engine {
        let engine = try Engine(json: options)
        try engine.setStore(store, fragment: nil)
        return engine
    }

    @Test func absentUntouchedWithoutInitialDoesNoWrite() throws {
        let store = CountingStore()
        let u = try engine(store: store).begin(update: CommitTableTests.group)
        try u.commit()
        #expect(store.log == ["R -5"])
    }

    @Test func absentUntouchedWithInitialWritesIt() throws {
        let store = CountingStore()
        let u = try engine("{\"initial\": {\"count\": 0}}", store: store).begin(update: CommitTableTests.group)
        try u.commit()
        #expect(store.log == ["R -5", "W -5={\"count\": 0}"])
    }

    @Test func storedUntouchedOrOnlyReadIsNotWritten() throws {
        let store = CountingStore()
        store.seed("-5", "{\"a\":1}")
        let e = try engine(store: store)
        try e.begin(update: CommitTableTests.group).commit()
        let u = try e.begin(update: CommitTableTests.group)
        #expect(try u.value() == "{\"a\":1}")
        try u.commit()
        #expect(store.log == ["R -5", "R -5"])
    }

    @Test func setWritesOnlyWhenBytesDiffer() throws {
        let store = CountingStore()
        store.seed("-5", "{\"a\":1}")
        let e = try engine(store: store)
        var u = try e.begin(update: CommitTableTests.group)
        try u.set(nil, "{\"a\":1}")
        try u.commit()
        u = try e.begin(update: CommitTableTests.group)
        try u.set(nil, "{\"a\": 1}")
        try u.commit()
        #expect(store.log == ["R -5", "R -5", "W -5={\"a\": 1}"])
    }

    @Test func setNullDeletesAndAbsentSetNullDoesNothing() throws {
        let store = CountingStore()
        store.seed("-5", "1")
        let e = try engine(store: store)
        var u = try e.begin(update: CommitTableTests.group)
        try u.set(nil, "null")
        try u.commit()
        u = try e.begin(update: CommitTableTests.group)
        try u.set(nil, nil as String?)
        try u.commit()
        #expect(store.log == ["R -5", "D -5", "R -5"])
    }

    @Test func rollbackWritesNothing() throws {
        let store = CountingStore()
        let u = try engine(store: store).begin(update: CommitTableTests.group)
        try u.set(nil, "{\"x\":1}")
        u.rollback()
        #expect(store.counts == [1, 0, 0])
        // Use after the end is MISUSE in Swift (in C it is use after free).
        #expect(throws: BotSessionError.self) { try u.value() }
        #expect(throws: BotSessionError.self) { try u.commit() }
    }

    @Test func droppingAnUpdateReleasesItsKey() throws {
        let store = CountingStore()
        let e = try engine("{\"lock_timeout_ms\": 0}", store: store)
        do { _ = try e.begin(update: CommitTableTests.group) }
        let again = try e.begin(update: CommitTableTests.group)
        again.rollback()
    }

    @Test func noKeyMeansNoIO() throws {
        let store = CountingStore()
        let u = try engine("{\"initial\": 1}", store: store).begin(update: CommitTableTests.noChat)
        #expect(throws: BotSessionError.self) { try u.value() }
        try u.clear()
        try u.commit()
        #expect(store.counts == [0, 0, 0])
    }

    // MARK: Lazy sessions (CONFORMANCE 13-18)

    @Test func lazyUntouchedDoesNoIO() throws {
        let store = CountingStore()
        nonisolated(unsafe) var initialCalls = 0
        let e = try engine("{\"lazy\": true}", store: store)
        try e.setInitial(.function { initialCalls += 1; return Array("0".utf8) })
        try e.begin(update: CommitTableTests.group).commit()
        #expect(store.counts == [0, 0, 0])
        #expect(initialCalls == 0)
    }

    @Test func lazyReadsOnceOnFirstGet() throws {
        let store = CountingStore()
        store.seed("-5", "1")
        let u = try engine("{\"lazy\": true}", store: store).begin(update: CommitTableTests.group)
        #expect(store.reads == 0)
        #expect(try u.value() == "1")
        #expect(try u.value() == "1")
        try u.set(nil, "2")
        #expect(try u.value() == "2")
        try u.commit()
        #expect(store.log == ["R -5", "W -5=2"])
    }

    @Test func lazySetWithoutGetNeverReads() throws {
        let store = CountingStore()
        let u = try engine("{\"lazy\": true, \"initial\": 0}", store: store).begin(update: CommitTableTests.group)
        try u.set(nil, "5")
        #expect(try u.value() == "5")
        try u.commit()
        #expect(store.log == ["W -5=5"])
    }

    @Test func lazyNoKeyMessages() throws {
        let store = CountingStore()
        let u = try engine("{\"lazy\": true}", store: store).begin(update: CommitTableTests.noChat)
        do {
            _ = try u.value()
            Issue.record("no error")
        } catch {
            #expect(error.status == .noKey)
            #expect(error.message == "Cannot access lazy session data because this update does not belong to a chat, so the session key is undefined!")
        }
        do {
            try u.set(nil, "1")
            Issue.record("no error")
        } catch {
            #expect(error.message == "Cannot assign lazy session data because this update does not belong to a chat, so the session key is undefined!")
        }
    }

    // MARK: Expiry refresh

    @Test func expiringStoreRefreshesWhatWasTouched() throws {
        let store = MemoryStore(ttlMs: 1000)
        nonisolated(unsafe) var now: Int64 = 10_000
        store.setClock { now }
        let key = try SessionKey("-5")
        let e = try engine(store: store)
        var u = try e.begin(update: CommitTableTests.group)
        try u.set(nil, "1")
        try u.commit()                                // lives until 11,000
        now = 10_900
        u = try e.begin(update: CommitTableTests.group)
        #expect(try u.value() == "1")
        try u.commit()                                // read: written back, lives until 11,900
        now = 11_500
        #expect(try store.read(key)?.text.string == "1")
        try e.begin(update: CommitTableTests.group).commit()  // untouched: no refresh
        now = 11_950
        #expect(try store.read(key) == nil)
    }

    // MARK: Fragments (CONFORMANCE 8-12)

    @Test func fragmentsEvolveIndependentlyAndClearDeletesAll() throws {
        let chats = CountingStore(), users = CountingStore()
        let e = try Engine(json: "{\"fragments\": {\"chat\": {\"initial\": {}}, \"user\": {\"key\": \"user\", \"initial\": []}}}")
        try e.setStore(chats, fragment: "chat")
        try e.setStore(users, fragment: "user")
        for step in 1...3 {
            let u = try e.begin(update: CommitTableTests.group)
            try u.set("chat", "{\"n\":\(step)}")
            try u.set("user", "[\(step)]")
            try u.commit()
        }
        let clear = try e.begin(update: CommitTableTests.group)
        try clear.clear()
        try clear.commit()
        let fresh = try e.begin(update: CommitTableTests.group)
        #expect(try fresh.value("chat") == "{}")
        #expect(try fresh.value("user") == "[]")
        try fresh.commit()
        #expect(chats.counts == [5, 4, 1])
        #expect(users.counts == [5, 4, 1])
    }

    @Test func fragmentsInOneStoreCommitTogether() throws {
        let store = CountingStore()
        let e = try Engine(json: "{\"fragments\": {\"a\": {\"prefix\": \"a:\"}, \"b\": {\"prefix\": \"b:\"}}}")
        try e.setStore(store, fragment: "a")
        try e.setStore(store, fragment: "b")
        let u = try e.begin(update: CommitTableTests.group)
        try u.set("a", "1")
        try u.set("b", "2")
        try u.commit()
        #expect(store.commits == 1)
        #expect(store.log == ["R a:-5", "R b:-5", "W a:-5=1", "W b:-5=2"])
    }

    /// Each store gets all of its fragments' changes in one commit; stores are written in the
    /// order of their identities ("counting:" before "custom:"), after all were prepared. A
    /// failure after a store was written is PARTIAL and says what was and was not written.
    @Test func aFailureAfterAStoreWasWrittenIsPartial() throws {
        let store = CountingStore()
        let failing = CustomStore(.init(
            read: { _ throws(BotSessionError) in nil },
            write: { _, _ throws(BotSessionError) in throw BotSessionError(.storage, "disk full") },
            delete: { _ throws(BotSessionError) in }))
        let e = try Engine(json: "{\"fragments\": {\"c\": {}, \"a\": {\"prefix\": \"a:\"}, \"b\": {\"prefix\": \"b:\"}}}")
        try e.setStore(store, fragment: "a")
        try e.setStore(store, fragment: "b")
        try e.setStore(failing, fragment: "c")
        let u = try e.begin(update: CommitTableTests.group)
        try u.set("a", "1")
        try u.set("b", "2")
        try u.set("c", "3")
        do {
            try u.commit()
            Issue.record("the commit succeeded")
        } catch {
            #expect(error.status == .partial)
            #expect(error.message.hasPrefix("commit failed while writing: written: fragment 'a', fragment 'b' (\(store.identity)); not (fully) written: fragment 'c' (\(failing.identity)). disk full. Do not run the handler again"))
        }
        #expect(store.commits == 1)
        #expect(store.stored("a:-5") == "1")
        #expect(store.stored("b:-5") == "2")
    }

    @Test func clearSkipsFragmentsWithoutKey() throws {
        let chats = CountingStore(), users = CountingStore()
        users.seed("7", "\"u\"")
        let e = try Engine(json: "{\"fragments\": {\"chat\": {}, \"user\": {\"key\": \"user\"}}}")
        try e.setStore(chats, fragment: "chat")
        try e.setStore(users, fragment: "user")
        let u = try e.begin(update: CommitTableTests.noChat)
        try u.clear()
        try u.commit()
        #expect(users.log == ["R 7", "D 7"])
        #expect(chats.counts == [0, 0, 0])
    }
}
