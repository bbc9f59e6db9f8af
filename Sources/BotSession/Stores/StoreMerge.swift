#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A store operation outside any update: setting members of the JSON object under one key in one
/// atomic step (`botsession_store_merge`), for FSM-style storages (aiogram's `update_data`) that
/// would otherwise need a whole engine update per change.
extension SessionStore {
    /// Sets the members of the JSON object `patch` on the object stored under `key` (see
    /// `JSONObjectMerge`) and returns the result. Nothing is written when `patch` is `{}` or
    /// changes nothing. Atomic as an update's commit is: under the process-wide key lock of
    /// `key` (so it serialises with engine updates of this process, waiting at most `timeoutMs`,
    /// or not at all on a thread with waiting off), and compare-and-set against other processes
    /// where the store keeps versions: when another process wrote first, it reads and merges
    /// again after a short random pause, until `timeoutMs` has passed (CONFLICT then; BUSY at
    /// once on a thread with waiting off, which does not pause).
    /// (`timeoutMs` defaults to `defaultLockTimeoutMs`, an engine's default lock_timeout_ms.)
    public func merge(_ key: SessionKey, patch: JSONText, timeoutMs: Int64 = 10_000) throws(BotSessionError) -> JSONText {
        let name = KeyLocks.Name(store: identity, key: key)
        try KeyLocks.shared.acquire([name], timeoutMs: ThreadWaiting.allowed ? timeoutMs : 0) { name in
            "key \(name.key)"
        }
        defer { KeyLocks.shared.release([name]) }
        let deadline = monotonicMs() + timeoutMs
        var pauseMs: Int64 = 1
        while true {
            let found = try read(key)
            let current = found.flatMap { $0.hidden ? nil : $0.text }
            let merged = try JSONObjectMerge.merge(current, patch)
            if JSONObjectMerge.isEmptyObject(patch) || (merged == current && !(found?.needsWriteBack ?? false) && !hasExpiry) {
                return merged
            }
            let (base, changes) = lower([.write(key, merged, expecting: Expectation(read: found))])
            do {
                try base.commit(changes, timeoutMs: max(1, deadline - monotonicMs()))
                return merged
            } catch where error.status == .conflict {
                // Another process wrote between the read and the commit (nothing was written):
                // a random pause, so that processes in step fall out of it.
                guard ThreadWaiting.allowed else {
                    throw BotSessionError(.busy, "another process changed key \(key) in \(identity) while this merge read and wrote it, and merging again means a pause, which this thread does not wait for (botsession_thread_nowait); nothing was written: merge again where waiting is allowed")
                }
                guard monotonicMs() + pauseMs < deadline else {
                    throw BotSessionError(.conflict, "other processes kept changing key \(key) in \(identity) while this merge read and wrote it, for \(timeoutMs) ms; nothing was written: merge again")
                }
                let pause = UInt32.random(in: 0...UInt32(pauseMs * 1000))
                ForkBarrier.outside { _ = usleep(pause) }
                pauseMs = min(pauseMs * 2, 20)
            }
        }
    }
}
