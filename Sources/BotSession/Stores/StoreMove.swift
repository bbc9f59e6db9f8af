#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What moving one key did.
public enum MoveOutcome: Sendable, Equatable {
    /// The value is under the new key now, and the old key is gone.
    case moved
    /// The old key held nothing (or `null`).
    case nothingToMove
    /// The new key already had a value: nothing changed, the old value stays where it is.
    case targetTaken
}

/// Moving a value from one key to another without ever overwriting one: the chat migration's
/// step (Engine/ChatMigration.swift) and `botsession_store_move` (adapters that keep their own
/// keys, such as aiogram's FSM storage).
///
/// The text moves as it is stored in the store that finally holds it (`lower([]).base`), so an
/// enhancer's wrapper, with its version and expiry, moves unchanged. Whether the new key "has a
/// value" is answered as this store shows it: data an enhancer shows as absent (expired,
/// dropped by a migration) or a stored `null` is no value, and is replaced.
extension SessionStore {
    /// The changes that move `old` to `new` in `base` (this store's base store), read with
    /// `read` (so a caller can count and time the reads): a write of the new key expecting what
    /// it holds now, then a delete of the old one expecting what was read, in that order, so a
    /// store without transactions that fails in between keeps both copies, never neither.
    func plannedMove(_ old: SessionKey, _ new: SessionKey, base: any SessionStore,
                     read: (any SessionStore, SessionKey) throws(BotSessionError) -> StoredValue?)
        throws(BotSessionError) -> (outcome: MoveOutcome, changes: [StoreChange]) {
        guard old != new, let found = try read(base, old), !found.text.isNull else { return (.nothingToMove, []) }
        let target = try read(base, new)
        if let target, !target.text.isNull {
            guard self !== base else { return (.targetTaken, []) }
            if let shown = try read(self, new), !shown.hidden, !shown.text.isNull { return (.targetTaken, []) }
        }
        return (.moved, [.write(new, found.text, expecting: Expectation(read: target)),
                         .delete(old, expecting: Expectation(read: found))])
    }

    /// Moves the value under `old` to `new` unless `new` has one (see the type's comment), in
    /// one commit of the base store, under the process-wide key locks of both keys (waiting at
    /// most `timeoutMs`, not at all on a thread with waiting off) and compare-and-set against
    /// other processes: when another process wrote either key first, it reads and tries again
    /// after a short random pause, for up to `timeoutMs` (CONFLICT then).
    public func move(_ old: SessionKey, to new: SessionKey, timeoutMs: Int64 = 10_000) throws(BotSessionError) -> MoveOutcome {
        guard old != new else { return .nothingToMove }
        let names = [KeyLocks.Name(store: identity, key: old), KeyLocks.Name(store: identity, key: new)].sorted()
        try KeyLocks.shared.acquire(names, timeoutMs: ThreadWaiting.allowed ? timeoutMs : 0) { name in "key \(name.key)" }
        defer { KeyLocks.shared.release(names) }
        let base = lower([]).base
        let deadline = monotonicMs() + timeoutMs
        var pauseMs: Int64 = 1
        while true {
            let (outcome, changes) = try plannedMove(old, new, base: base) { (store, key) throws(BotSessionError) in
                try store.read(key)
            }
            guard !changes.isEmpty else { return outcome }
            do {
                try base.commit(changes, timeoutMs: max(1, deadline - monotonicMs()))
                return outcome
            } catch where error.status == .conflict {
                guard ThreadWaiting.allowed, monotonicMs() + pauseMs < deadline else {
                    throw BotSessionError(.conflict, "other processes kept changing key \(old) or \(new) in \(identity) while this move read and wrote them; nothing was moved: move again")
                }
                let pause = UInt32.random(in: 0...UInt32(pauseMs * 1000))
                ForkBarrier.outside { _ = usleep(pause) }
                pauseMs = min(pauseMs * 2, 20)
            }
        }
    }
}
