import BotSession
import Testing

/// SPEC §4: the key of every kind of update under every built-in strategy.
@Suite struct KeyResolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let update: String
        let chat: String?
        let user: String?
        var topic: String? = nil
        var business: String? = nil
        var testDescription: String { name }
    }

    static let userJSON = "{\"id\":7,\"is_bot\":false,\"first_name\":\"Ann\"}"
    static let botJSON = "{\"id\":999,\"is_bot\":true,\"first_name\":\"Bot\"}"
    static func message(chat: Int64, extra: String = "") -> String {
        "{\"message_id\":1,\"date\":0,\"chat\":{\"id\":\(chat),\"type\":\"group\"},\"from\":\(userJSON)\(extra)}"
    }

    static let cases: [Case] = [
        Case(name: "message", update: "{\"update_id\":1,\"message\":\(message(chat: -42))}", chat: "-42", user: "7"),
        Case(name: "edited_message", update: "{\"update_id\":1,\"edited_message\":\(message(chat: 5))}", chat: "5", user: "7"),
        Case(name: "channel_post (no from)", update: "{\"update_id\":1,\"channel_post\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-1001,\"type\":\"channel\"},\"sender_chat\":{\"id\":-1001,\"type\":\"channel\"}}}", chat: "-1001", user: nil),
        Case(name: "edited_channel_post", update: "{\"update_id\":1,\"edited_channel_post\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-1002,\"type\":\"channel\"}}}", chat: "-1002", user: nil),
        Case(name: "business_message", update: "{\"update_id\":1,\"business_message\":\(message(chat: 77, extra: ",\"business_connection_id\":\"bc7\""))}", chat: "77", user: "7", business: "bc7"),
        Case(name: "edited_business_message", update: "{\"update_id\":1,\"edited_business_message\":\(message(chat: 78, extra: ",\"business_connection_id\":\"bc8\""))}", chat: "78", user: "7", business: "bc8"),
        Case(name: "guest_message", update: "{\"update_id\":1,\"guest_message\":\(message(chat: 79))}", chat: "79", user: "7"),
        Case(name: "callback_query with message: from is the clicker, not the bot", update: "{\"update_id\":1,\"callback_query\":{\"id\":\"c\",\"chat_instance\":\"i\",\"from\":\(userJSON),\"message\":{\"message_id\":2,\"date\":0,\"chat\":{\"id\":-9,\"type\":\"group\"},\"from\":\(botJSON)}}}", chat: "-9", user: "7"),
        Case(name: "inline callback_query", update: "{\"update_id\":1,\"callback_query\":{\"id\":\"c\",\"chat_instance\":\"i\",\"from\":\(userJSON),\"inline_message_id\":\"im\"}}", chat: nil, user: "7"),
        Case(name: "deleted_business_messages", update: "{\"update_id\":1,\"deleted_business_messages\":{\"business_connection_id\":\"bc9\",\"chat\":{\"id\":11,\"type\":\"private\"},\"message_ids\":[1]}}", chat: "11", user: nil, business: "bc9"),
        Case(name: "message_reaction by a user", update: "{\"update_id\":1,\"message_reaction\":{\"chat\":{\"id\":-12,\"type\":\"group\"},\"message_id\":1,\"date\":0,\"user\":\(userJSON),\"old_reaction\":[],\"new_reaction\":[]}}", chat: "-12", user: "7"),
        Case(name: "anonymous message_reaction", update: "{\"update_id\":1,\"message_reaction\":{\"chat\":{\"id\":-12,\"type\":\"group\"},\"message_id\":1,\"date\":0,\"actor_chat\":{\"id\":-5,\"type\":\"channel\"},\"old_reaction\":[],\"new_reaction\":[]}}", chat: "-12", user: nil),
        Case(name: "message_reaction_count", update: "{\"update_id\":1,\"message_reaction_count\":{\"chat\":{\"id\":-13,\"type\":\"channel\"},\"message_id\":1,\"date\":0,\"reactions\":[]}}", chat: "-13", user: nil),
        Case(name: "my_chat_member", update: "{\"update_id\":1,\"my_chat_member\":{\"chat\":{\"id\":-14,\"type\":\"group\"},\"from\":\(userJSON),\"date\":0}}", chat: "-14", user: "7"),
        Case(name: "chat_member", update: "{\"update_id\":1,\"chat_member\":{\"chat\":{\"id\":-15,\"type\":\"group\"},\"from\":\(userJSON),\"date\":0}}", chat: "-15", user: "7"),
        Case(name: "chat_join_request", update: "{\"update_id\":1,\"chat_join_request\":{\"chat\":{\"id\":-16,\"type\":\"supergroup\"},\"from\":\(userJSON),\"user_chat_id\":7,\"date\":0}}", chat: "-16", user: "7"),
        Case(name: "chat_boost", update: "{\"update_id\":1,\"chat_boost\":{\"chat\":{\"id\":-17,\"type\":\"channel\"},\"boost\":{\"boost_id\":\"b\",\"add_date\":0,\"expiration_date\":1,\"source\":{\"source\":\"premium\",\"user\":\(userJSON)}}}}", chat: "-17", user: "7"),
        Case(name: "removed_chat_boost", update: "{\"update_id\":1,\"removed_chat_boost\":{\"chat\":{\"id\":-18,\"type\":\"channel\"},\"boost_id\":\"b\",\"remove_date\":0,\"source\":{\"source\":\"gift_code\",\"user\":\(userJSON)}}}", chat: "-18", user: "7"),
        Case(name: "business_connection", update: "{\"update_id\":1,\"business_connection\":{\"id\":\"bc1\",\"user\":\(userJSON),\"user_chat_id\":70,\"date\":0,\"is_enabled\":true}}", chat: "70", user: "7", business: "bc1"),
        Case(name: "inline_query", update: "{\"update_id\":1,\"inline_query\":{\"id\":\"q\",\"from\":\(userJSON),\"query\":\"\",\"offset\":\"\"}}", chat: nil, user: "7"),
        Case(name: "chosen_inline_result", update: "{\"update_id\":1,\"chosen_inline_result\":{\"result_id\":\"r\",\"from\":\(userJSON),\"query\":\"\"}}", chat: nil, user: "7"),
        Case(name: "shipping_query", update: "{\"update_id\":1,\"shipping_query\":{\"id\":\"s\",\"from\":\(userJSON),\"invoice_payload\":\"p\"}}", chat: nil, user: "7"),
        Case(name: "pre_checkout_query", update: "{\"update_id\":1,\"pre_checkout_query\":{\"id\":\"p\",\"from\":\(userJSON),\"currency\":\"XTR\",\"total_amount\":1,\"invoice_payload\":\"p\"}}", chat: nil, user: "7"),
        Case(name: "purchased_paid_media", update: "{\"update_id\":1,\"purchased_paid_media\":{\"from\":\(userJSON),\"paid_media_payload\":\"x\"}}", chat: nil, user: "7"),
        Case(name: "poll", update: "{\"update_id\":1,\"poll\":{\"id\":\"p\",\"question\":\"?\",\"options\":[],\"total_voter_count\":0}}", chat: nil, user: nil),
        Case(name: "poll_answer has a user (grammY misses it)", update: "{\"update_id\":1,\"poll_answer\":{\"poll_id\":\"p\",\"user\":\(userJSON),\"option_ids\":[0]}}", chat: nil, user: "7"),
        Case(name: "anonymous poll_answer", update: "{\"update_id\":1,\"poll_answer\":{\"poll_id\":\"p\",\"voter_chat\":{\"id\":-3,\"type\":\"channel\"},\"option_ids\":[0]}}", chat: nil, user: nil),
        Case(name: "managed_bot", update: "{\"update_id\":1,\"managed_bot\":{\"user\":\(userJSON)}}", chat: nil, user: "7"),
        Case(name: "subscription", update: "{\"update_id\":1,\"subscription\":{\"user\":\(userJSON)}}", chat: nil, user: "7"),
        Case(name: "forum topic message", update: "{\"update_id\":1,\"message\":\(message(chat: -100, extra: ",\"message_thread_id\":33,\"is_topic_message\":true"))}", chat: "-100", user: "7", topic: "-100/33"),
        Case(name: "thread id without is_topic_message", update: "{\"update_id\":1,\"message\":\(message(chat: -100, extra: ",\"message_thread_id\":33"))}", chat: "-100", user: "7", topic: "-100"),
        Case(name: "null members count as missing", update: "{\"update_id\":1,\"message\":null,\"edited_message\":\(message(chat: 8))}", chat: "8", user: "7"),
        Case(name: "the last of duplicate members wins", update: "{\"update_id\":1,\"message\":\(message(chat: 1)),\"message\":\(message(chat: 2))}", chat: "2", user: "7"),
        Case(name: "big ids keep their digits", update: "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-1009007199254740,\"type\":\"supergroup\"},\"from\":{\"id\":9007199254740991}}}", chat: "-1009007199254740", user: "9007199254740991"),
        Case(name: "a message without chat hides later chat carriers, as in grammY", update: "{\"update_id\":1,\"message\":{\"message_id\":1},\"my_chat_member\":{\"chat\":{\"id\":4}}}", chat: nil, user: nil),
        Case(name: "an empty update", update: "{}", chat: nil, user: nil),
    ]

    func key(_ strategy: String, _ update: String) throws -> String? {
        let engine = try Engine(json: "{\"key\": \"\(strategy)\"}")
        let u = try engine.begin(update: update)
        defer { u.rollback() }
        return try u.key()?.text
    }

    @Test(arguments: cases)
    func everyStrategy(_ c: Case) throws {
        #expect(try key("chat", c.update) == c.chat)
        #expect(try key("user", c.update) == c.user)
        let userChat = c.user.flatMap { u in c.chat.map { "\(u)/\($0)" } }
        #expect(try key("user-chat", c.update) == userChat)
        #expect(try key("chat-topic", c.update) == (c.topic ?? c.chat))
        #expect(try key("business", c.update) == c.business)
    }

    @Test func prefixOnlyOnDefinedKeys() throws {
        let engine = try Engine(json: "{\"prefix\": \"chat:\"}")
        let u = try engine.begin(update: KeyResolutionTests.cases[0].update)
        #expect(try u.key()?.text == "chat:-42")
        u.rollback()
        let none = try engine.begin(update: "{\"update_id\":1,\"poll\":{}}")
        #expect(try none.key() == nil)
        none.rollback()
    }

    @Test func customKeyFunction() throws {
        let engine = try Engine(json: "{\"prefix\": \"x-\"}")
        try engine.setKeyFunction { update in
            update.string.contains("poll") ? nil : Array("k\(update.bytes.count)".utf8)
        }
        let u = try engine.begin(update: "{}")
        #expect(try u.key()?.text == "x-k2")
        u.rollback()
        let none = try engine.begin(update: "{\"poll\":1}")
        #expect(try none.key() == nil)
        none.rollback()
        // The custom function's update must still be valid JSON.
        #expect(throws: BotSessionError.self) { try engine.begin(update: "{") }
    }

    /// An update is a JSON object: valid JSON of any other kind is INVALID_JSON, under the
    /// built-in strategies (which parse the update) and custom key functions (which only
    /// validate it) alike, and the custom function is never called with it.
    @Test(arguments: ["[1,2]", "42", "null", " \"text\"", "true", "false", "\n[]", "-1.5e3"])
    func updateMustBeAnObject(_ update: String) throws {
        let builtIn = try Engine(json: nil)
        let custom = try Engine(json: nil)
        nonisolated(unsafe) var called = false
        try custom.setKeyFunction { _ in called = true; return Array("k".utf8) }
        for engine in [builtIn, custom] {
            do throws(BotSessionError) {
                let u = try engine.begin(update: update)
                u.rollback()
                Issue.record("begin accepted \(update)")
            } catch {
                #expect(error.status == .invalidJSON)
                #expect(error.message.contains("an update is a JSON object"))
            }
        }
        #expect(!called)
        let fine = try builtIn.begin(update: " \t{\"update_id\":1}")
        #expect(try fine.key() == nil)
        fine.rollback()
    }

    /// Canonically equivalent but different texts are different keys (bytes, not String ==).
    @Test func keysAreBytes() throws {
        let store = MemoryStore()
        let composed = try SessionKey("caf\u{E9}")
        let decomposed = try SessionKey("cafe\u{301}")
        #expect(composed != decomposed)
        try store.write(composed, json("1"))
        try store.write(decomposed, json("2"))
        #expect(try store.read(composed)?.text.string == "1")
        #expect(try store.read(decomposed)?.text.string == "2")
    }
}
