/// The parts of a Telegram update that session keys are made of, found exactly as grammY's
/// `Context` getters find them (`ctx.msg`, `ctx.chat`, `ctx.chatId`, `ctx.from`,
/// `ctx.businessConnectionId`). "Present" means what JavaScript's `??` means: there and not
/// `null`.
struct UpdateFields {
    let doc: JSONDocument
    /// The chat id that keys use instead of the update's own: the new chat's, when the engine
    /// follows a chat migration (`chatMigration`).
    var chatIDOverride: [UInt8]?

    init(_ doc: JSONDocument) { self.doc = doc }

    private var update: Int? { doc.kind(doc.root) == .object ? doc.root : nil }

    /// `ctx.msg`: the message of the update.
    var message: Int? {
        guard let u = update else { return nil }
        return doc.present(u, "message") ?? doc.present(u, "edited_message")
            ?? doc.present(u, "channel_post") ?? doc.present(u, "edited_channel_post")
            ?? doc.present(u, "business_message") ?? doc.present(u, "edited_business_message")
            ?? doc.present(u, "guest_message") ?? doc.present(doc.present(u, "callback_query"), "message")
    }

    /// `ctx.chat`: the `chat` of the message, or of the first present chat-bearing update.
    var chat: Int? {
        guard let u = update else { return nil }
        let carrier = message ?? doc.present(u, "deleted_business_messages")
            ?? doc.present(u, "message_reaction") ?? doc.present(u, "message_reaction_count")
            ?? doc.present(u, "my_chat_member") ?? doc.present(u, "chat_member")
            ?? doc.present(u, "chat_join_request") ?? doc.present(u, "chat_boost")
            ?? doc.present(u, "removed_chat_boost")
        return doc.present(carrier, "chat")
    }

    /// `ctx.chatId` as key text: the chat's `id`, else `business_connection.user_chat_id`.
    var chatID: [UInt8]? {
        if let chatIDOverride { return chatIDOverride }
        guard let u = update else { return nil }
        guard let id = doc.present(chat, "id") ?? doc.present(doc.present(u, "business_connection"), "user_chat_id")
        else { return nil }
        return doc.keyText(id)
    }

    /// `ctx.from` (plus `poll_answer.user`, which grammY misses), as the user's id in key text.
    var userID: [UInt8]? {
        guard let u = update else { return nil }
        let boost = doc.present(doc.present(u, "chat_boost"), "boost") ?? doc.present(u, "removed_chat_boost")
        let boostSource = doc.present(boost, "source")
        let withUser = doc.present(u, "business_connection") ?? doc.present(u, "message_reaction")
            ?? doc.present(u, "managed_bot") ?? boostSource ?? doc.present(u, "subscription")
        let withFrom = doc.present(u, "callback_query") ?? message ?? doc.present(u, "inline_query")
            ?? doc.present(u, "chosen_inline_result") ?? doc.present(u, "shipping_query")
            ?? doc.present(u, "pre_checkout_query") ?? doc.present(u, "my_chat_member")
            ?? doc.present(u, "chat_member") ?? doc.present(u, "chat_join_request")
            ?? doc.present(u, "purchased_paid_media")
        guard let user = doc.present(withUser, "user") ?? doc.present(withFrom, "from")
            ?? doc.present(doc.present(u, "poll_answer"), "user")
        else { return nil }
        return doc.present(user, "id").flatMap(doc.keyText)
    }

    /// The forum topic of the message: its `message_thread_id` when `is_topic_message` is true.
    var topicID: [UInt8]? {
        guard let m = message, doc.isTrue(doc.member(m, "is_topic_message")) else { return nil }
        return doc.present(m, "message_thread_id").flatMap(doc.keyText)
    }

    /// `ctx.businessConnectionId`.
    var businessConnectionID: [UInt8]? {
        guard let u = update else { return nil }
        let id = doc.present(message, "business_connection_id")
            ?? doc.present(doc.present(u, "business_connection"), "id")
            ?? doc.present(doc.present(u, "deleted_business_messages"), "business_connection_id")
        return id.flatMap(doc.keyText)
    }

    /// The group that became a supergroup, when the message announces it: Telegram sends
    /// `migrate_to_chat_id` in the old group (whose id the message's chat has) and
    /// `migrate_from_chat_id` in the new supergroup. Both ids as key text; nil unless both are
    /// integers and differ.
    var chatMigration: ChatMigration? {
        guard let m = message, let here = doc.present(doc.present(m, "chat"), "id").flatMap(doc.keyText),
              ChatMigration.isChatID(here) else { return nil }
        if let to = doc.present(m, "migrate_to_chat_id").flatMap(doc.keyText), ChatMigration.isChatID(to), to != here {
            return ChatMigration(old: here, new: to)
        }
        if let from = doc.present(m, "migrate_from_chat_id").flatMap(doc.keyText), ChatMigration.isChatID(from), from != here {
            return ChatMigration(old: from, new: here)
        }
        return nil
    }
}
