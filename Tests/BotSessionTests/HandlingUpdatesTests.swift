import BotSession
import Testing

/// `engine.update(json) { session in ... }`: commits what the handler left, rolls back when it
/// throws, runs it again after a conflict; `setKey` with Swift strings.
@Suite struct HandlingUpdatesTests {
    static let chat = "{\"message\":{\"chat\":{\"id\":9}}}"

    struct Refused: Error {}

    @Test func commitsAndCountsUp() throws {
        let engine = try Engine(json: "{\"initial\": 0}")
        let store = MemoryStore()
        try engine.setStore(store)
        for expected in 1...3 {
            let count = try engine.update(HandlingUpdatesTests.chat) { session in
                let count = Int(try session.get()?.string ?? "0") ?? 0
                try session.set(JSONText("\(count + 1)"))
                return count + 1
            }
            #expect(count == expected)
        }
        #expect(try store.value(SessionKey("9"))?.string == "3")
    }

    @Test func rollsBackWhenTheHandlerThrows() throws {
        let engine = try Engine(json: nil)
        let store = MemoryStore()
        try engine.setStore(store)
        #expect(throws: Refused.self) {
            try engine.update(HandlingUpdatesTests.chat) { session in
                try session.set(JSONText("1"))
                throw Refused()
            }
        }
        #expect(try store.value(SessionKey("9")) == nil)
        // The key was released: the next update of the chat begins at once.
        try engine.update(HandlingUpdatesTests.chat) { session in try session.set(JSONText("2")) }
        #expect(try store.value(SessionKey("9"))?.string == "2")
    }

    @Test func runsAgainAfterAConflict() throws {
        let engine = try Engine(json: "{\"initial\": 0}")
        let directory = temporaryDirectory()
        defer { removeDirectory(directory) }
        let path = "\(directory)/sessions.db"
        let store = try SQLiteStore(path: path)
        let other = try SQLiteStore(path: path)
        try engine.setStore(store)
        var runs = 0
        let result = try engine.update(HandlingUpdatesTests.chat) { session in
            runs += 1
            let count = Int(try session.get()?.string ?? "0") ?? 0
            if runs == 1 { try other.write(SessionKey("9"), JSONText("10")) }  // another writer, first
            try session.set(JSONText("\(count + 1)"))
            return count + 1
        }
        #expect(runs == 2 && result == 11)
        #expect(try store.value(SessionKey("9"))?.string == "11")
        #expect(throws: BotSessionError.self) {
            try engine.update(HandlingUpdatesTests.chat, attempts: 1) { session in
                try other.write(SessionKey("9"), JSONText("20"))
                try session.set(JSONText("0"))
            }
        }
        #expect(try store.value(SessionKey("9"))?.string == "20")
    }

    @Test func keyFunctionOnStrings() throws {
        let engine = try Engine(json: nil)
        let store = MemoryStore()
        try engine.setStore(store)
        try engine.setKey { update in update.contains("\"vip\"") ? "vip" : nil }
        try engine.update("{\"message\":{\"text\":\"vip\"}}") { session in try session.set(JSONText("1")) }
        #expect(try store.value(SessionKey("vip"))?.string == "1")
        #expect(throws: BotSessionError.self) {
            try engine.update("{\"message\":{\"text\":\"x\"}}") { session in try session.set(JSONText("1")) }
        }
    }
}
