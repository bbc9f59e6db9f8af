import BotSession
import Testing

/// Chat migration through the Swift API (the C tests cover every store): the option rewrites
/// the announcement's chat keys to the new chat, `migrateChat` reports what it did, and
/// `SessionStore.move` never overwrites.
@Suite struct ChatMigrationTests {
    func engine(_ store: MemoryStore, follow: Bool = true) throws -> Engine {
        let engine = try Engine(json: "{\"follow_chat_migrations\": \(follow), \"fragments\": {\"chat\": {\"prefix\": \"c:\"}, \"topic\": {\"key\": \"chat-topic\", \"prefix\": \"t:\"}}}")
        try engine.setStore(store, fragment: "chat")
        try engine.setStore(store, fragment: "topic")
        return engine
    }

    static let announcement = "{\"message\": {\"chat\": {\"id\": -3, \"type\": \"group\"}, \"migrate_to_chat_id\": -1003}}"

    @Test func theAnnouncementsHandlerSeesTheNewChat() throws {
        let store = MemoryStore()
        try store.write(SessionKey("c:-3"), json("{\"n\":3}"))
        try store.write(SessionKey("t:-3/9"), json("{\"topic\":9}"))
        let engine = try engine(store)
        let update = try engine.begin(update: ChatMigrationTests.announcement)
        #expect(try update.key("chat") == SessionKey("c:-1003"))
        #expect(try update.get("chat")?.string == "{\"n\":3}")
        try update.commit()
        #expect(try store.value(SessionKey("c:-3")) == nil)
        #expect(try store.value(SessionKey("t:-1003/9"))?.string == "{\"topic\":9}")
        #expect(try engine.migrateChat(from: -3, to: -1003) == ChatMigrationResult())
    }

    @Test func migrateChatNeverOverwrites() throws {
        let store = MemoryStore()
        try store.write(SessionKey("c:-4"), json("1"))
        try store.write(SessionKey("c:-1004"), json("2"))
        try store.write(SessionKey("c:-5"), json("5"))
        let engine = try engine(store, follow: false)
        #expect(try engine.migrateChat(from: -4, to: -1004) == ChatMigrationResult(moved: 0, skipped: 1))
        #expect(try engine.migrateChat(from: -5, to: -1005) == ChatMigrationResult(moved: 1, skipped: 0))
        #expect(try store.value(SessionKey("c:-4"))?.string == "1")
        #expect(try store.value(SessionKey("c:-1004"))?.string == "2")
        #expect(try store.value(SessionKey("c:-1005"))?.string == "5")
        // Without the option, the announcement is the old chat's update.
        let update = try engine.begin(update: ChatMigrationTests.announcement)
        #expect(try update.key("chat") == SessionKey("c:-3"))
        update.rollback()
    }

    @Test func storeMove() throws {
        let store = MemoryStore()
        try store.write(SessionKey("a"), json("[1]"))
        #expect(try store.move(SessionKey("a"), to: SessionKey("b")) == .moved)
        #expect(try store.move(SessionKey("a"), to: SessionKey("b")) == .nothingToMove)
        try store.write(SessionKey("c"), json("[2]"))
        #expect(try store.move(SessionKey("c"), to: SessionKey("b")) == .targetTaken)
        #expect(try store.value(SessionKey("b"))?.string == "[1]")
        #expect(try store.value(SessionKey("c"))?.string == "[2]")
    }
}
