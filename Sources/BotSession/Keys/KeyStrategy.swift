/// A custom key function: the key for an update as bytes, or nil for "this update has no key".
/// It runs on the thread that calls `begin`, before any storage I/O.
public typealias KeyFunction = @Sendable (UpdateJSON) throws(BotSessionError) -> [UInt8]?

/// How a fragment finds its session key in an update (SPEC §4).
public enum KeyStrategy: Sendable {
    /// The chat id, exactly as grammY's `ctx.chatId` (the default).
    case chat
    /// The user id (grammY's `ctx.from`, plus `poll_answer.user`).
    case user
    /// `"<user>/<chat>"`; no key unless both exist.
    case userChat
    /// `"<chat>/<message_thread_id>"` for forum topic messages, else the chat.
    case chatTopic
    /// The business connection id.
    case business
    /// A function of the caller's.
    case custom(KeyFunction)

    /// The strategy named in engine options (`"chat"`, `"user"`, `"user-chat"`, `"chat-topic"`,
    /// `"business"`).
    public init(name: String) throws(BotSessionError) {
        switch name {
        case "chat": self = .chat
        case "user": self = .user
        case "user-chat": self = .userChat
        case "chat-topic": self = .chatTopic
        case "business": self = .business
        default:
            throw BotSessionError(
                .invalidOption,
                "unknown key strategy \"\(name)\"; use one of \"chat\", \"user\", \"user-chat\", \"chat-topic\", \"business\", or set a key callback")
        }
    }

    /// Whether resolving the key reads fields of the update (every strategy but `custom`).
    var readsUpdateFields: Bool {
        if case .custom = self { return false }
        return true
    }

    /// Whether the key is made of the chat id (`chat`, `chat-topic`, `user-chat`): the strategies
    /// whose sessions a chat migration moves.
    var comesFromChat: Bool {
        switch self {
        case .chat, .chatTopic, .userChat: true
        case .user, .business, .custom: false
        }
    }

    /// The key's bytes before the prefix, or nil when the update has none.
    func resolve(_ fields: UpdateFields?, _ update: UpdateJSON) throws(BotSessionError) -> [UInt8]? {
        switch self {
        case .custom(let function):
            return try function(update)
        case .chat:
            return fields?.chatID
        case .user:
            return fields?.userID
        case .userChat:
            guard let user = fields?.userID, let chat = fields?.chatID else { return nil }
            return user + [0x2F] + chat
        case .chatTopic:
            guard let chat = fields?.chatID else { return nil }
            guard let topic = fields?.topicID else { return chat }
            return chat + [0x2F] + topic
        case .business:
            return fields?.businessConnectionID
        }
    }

    /// grammY's NO_KEY message, word for word: `action` is "access" or "assign".
    func noKeyMessage(action: String, lazy: Bool) -> String {
        let reason: String
        if case .chat = self {
            reason = "this update does not belong to a chat, so the session key is undefined"
        } else {
            reason = "the custom `getSessionKey` function returned undefined for this update"
        }
        return "Cannot \(action) \(lazy ? "lazy " : "")session data because \(reason)!"
    }
}
