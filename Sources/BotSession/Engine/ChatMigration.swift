/// A group that became a supergroup: its old and its new chat id, as key text (`-123`).
struct ChatMigration: Sendable {
    let old: [UInt8]
    let new: [UInt8]

    /// Whether `text` is a chat id: an optional minus and decimal digits, as Telegram's are.
    static func isChatID(_ text: [UInt8]) -> Bool {
        let digits = text.first == 0x2D ? text.dropFirst() : text[...]
        return !digits.isEmpty && digits.count <= 19 && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

/// What `Engine.migrateChat` did: sessions moved, and sessions left at the old chat because
/// the new chat already had one.
public struct ChatMigrationResult: Sendable, Equatable {
    public var moved = 0
    public var skipped = 0

    public init(moved: Int = 0, skipped: Int = 0) {
        self.moved = moved
        self.skipped = skipped
    }
}

/// Chat migration (SPEC §5): when a group becomes a supergroup, Telegram gives it a new chat id,
/// and every session keyed by the old id would be lost to the bot. The engine moves them.
///
/// Moved are the sessions of every fragment whose key comes from the chat, with its prefix:
/// `chat` keys `<chat>`, `chat-topic` keys `<chat>` and `<chat>/<thread>`, `user-chat` keys
/// `<user>/<chat>` (found by scanning the fragment's prefix, so their cost grows with the number
/// of such sessions; migrations are rare). Keys of custom key functions, `user` and `business`
/// keys are not the chat's and stay. The stored text moves as it is, so an enhancer's version
/// and expiry move with the data.
///
/// A session that the new chat already has is never overwritten: the old one stays (`skipped`).
/// Each store's moves are one commit (one transaction in SQLite and PostgreSQL, under the flock
/// in the file store), compare-and-set against other processes, and under the engine's key
/// locks of both chats' keys, so no update of this process sees a half-moved chat.
extension Engine {
    /// Moves the sessions of chat `old` to chat `new` (`botsession_migrate_chat`). Nothing to
    /// move, and `old == new`, are not errors.
    public func migrateChat(from old: Int64, to new: Int64) throws(BotSessionError) -> ChatMigrationResult {
        guard old != new else { return ChatMigrationResult() }
        return try migrateChat(ChatMigration(old: Array(String(old).utf8), new: Array(String(new).utf8)), holding: [])
    }

    /// One session to move, in the store that finally holds it (an enhancer's inner store, so
    /// the wrapper moves unchanged).
    private struct Move {
        let fragment: Fragment
        let base: any SessionStore
        let old: SessionKey
        let new: SessionKey
    }

    /// The moves of `migration`, with the key locks `held` (an update's own) already held by the
    /// calling thread; the others are taken here, all at once, and released at the end.
    func migrateChat(_ migration: ChatMigration, holding held: [KeyLocks.Name]) throws(BotSessionError) -> ChatMigrationResult {
        let moves = try plannedMoves(migration)
        guard !moves.isEmpty else { return ChatMigrationResult() }
        var names = Set(moves.flatMap { [KeyLocks.Name(store: $0.fragment.lockStore, key: $0.old),
                                         KeyLocks.Name(store: $0.fragment.lockStore, key: $0.new)] })
        names.subtract(held)
        let locks = names.sorted()
        do {
            try KeyLocks.shared.acquire(locks, timeoutMs: ThreadWaiting.allowed ? lockTimeoutMs : 0,
                                        counters: counters) { name in "key \(name.key) (chat migration)" }
        } catch {
            counters.failed(error)
            throw describe(error, migration)
        }
        defer { KeyLocks.shared.release(locks) }

        var result = ChatMigrationResult()
        var stores: [String: [Move]] = [:]
        for move in moves { stores[move.base.identity, default: []].append(move) }
        for identity in stores.keys.sorted() {
            let part = try moveWithRetries(stores[identity]!, migration)
            result.moved += part.moved
            result.skipped += part.skipped
        }
        if result.moved > 0 { EngineCounters.add(counters.chatMigrations) }
        if result.skipped > 0 { EngineCounters.add(counters.chatMigrationsSkipped) }
        return result
    }

    /// The pairs of keys to move, for every fragment keyed by the chat. A key that two fragments
    /// share in one store (the same prefix) is moved once.
    private func plannedMoves(_ migration: ChatMigration) throws(BotSessionError) -> [Move] {
        var moves: [Move] = []
        var seen = Set<KeyLocks.Name>()
        for fragment in frozenFragments() where fragment.options.key.comesFromChat {
            let base = fragment.store!.lower([]).base
            let prefix = fragment.options.prefix
            var pairs: [(old: [UInt8], new: [UInt8])] = []
            do {
                switch fragment.options.key {
                case .chat:
                    pairs.append((prefix + migration.old, prefix + migration.new))
                case .chatTopic:
                    pairs.append((prefix + migration.old, prefix + migration.new))
                    // `<chat>/<thread>`: the thread part stays.
                    let topics = prefix + migration.old + [0x2F]
                    try each(base, prefix: topics) { key in
                        pairs.append((key, prefix + migration.new + [0x2F] + key[topics.count...]))
                    }
                case .userChat:
                    // `<user>/<chat>`: a user part without "/", then this chat.
                    let suffix = [0x2F] + migration.old
                    try each(base, prefix: prefix) { key in
                        let middle = key[prefix.count...]
                        guard middle.count > suffix.count, middle.suffix(suffix.count).elementsEqual(suffix),
                              !middle.dropLast(suffix.count).contains(0x2F) else { return }
                        pairs.append((key, Array(key.dropLast(migration.old.count)) + migration.new))
                    }
                case .user, .business, .custom:
                    break
                }
                for (old, new) in pairs {
                    let oldKey = try SessionKey(validating: old, what: "the old chat's key")
                    let newKey = try SessionKey(validating: new, what: "the new chat's key")
                    guard seen.insert(KeyLocks.Name(store: base.identity, key: oldKey)).inserted else { continue }
                    moves.append(Move(fragment: fragment, base: base, old: oldKey, new: newKey))
                }
            } catch {
                counters.failed(error)
                throw describe(fragment.context(error), migration)
            }
        }
        return moves
    }

    /// Every key of `store` that starts with `prefix`.
    private func each(_ store: any SessionStore, prefix: [UInt8], _ body: ([UInt8]) -> Void) throws(BotSessionError) {
        let cursor = try store.cursor(prefix: prefix)
        while let entry = try cursor.next() { body(entry.key.bytes) }
    }

    /// One store's moves as one commit; when another process changed a key between the reads
    /// and the commit (CONFLICT, nothing written), read and try again, a few times.
    private func moveWithRetries(_ moves: [Move], _ migration: ChatMigration) throws(BotSessionError) -> ChatMigrationResult {
        var attempt = 0
        while true {
            do {
                return try moveOnce(moves)
            } catch where error.status == .conflict && attempt < 5 {
                attempt += 1
            } catch {
                counters.failed(error)
                throw describe(error, migration)
            }
        }
    }

    private func moveOnce(_ moves: [Move]) throws(BotSessionError) -> ChatMigrationResult {
        var result = ChatMigrationResult()
        var changes: [StoreChange] = []
        for move in moves {
            let (outcome, steps) = try move.fragment.store!.plannedMove(move.old, move.new, base: move.base,
                                                                        read: timedRead)
            switch outcome {
            case .moved: result.moved += 1
            case .targetTaken: result.skipped += 1
            case .nothingToMove: break
            }
            changes += steps
        }
        guard !changes.isEmpty else { return result }
        let started = monotonicMicros()
        defer { counters.storeLatency.record(monotonicMicros() - started) }
        try moves[0].base.commit(changes, timeoutMs: lockTimeoutMs)
        EngineCounters.add(counters.writes, result.moved)
        EngineCounters.add(counters.deletes, result.moved)
        return result
    }

    private func timedRead(_ store: any SessionStore, _ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        EngineCounters.add(counters.reads)
        let started = monotonicMicros()
        defer { counters.storeLatency.record(monotonicMicros() - started) }
        return try store.read(key)
    }

    private func describe(_ error: BotSessionError, _ migration: ChatMigration) -> BotSessionError {
        error.prefixed("moving the sessions of chat \(String(decoding: migration.old, as: UTF8.self)) to chat \(String(decoding: migration.new, as: UTF8.self))")
    }
}
