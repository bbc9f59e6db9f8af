#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether the calling thread may wait for locks: an event loop's thread may not (the Python
/// binding's asyncio API tries a call there first with waiting off, and only when it would
/// wait sends it to a worker thread).
///
/// While waiting is off, every call that would wait for a lock fails at once with BUSY, having
/// done nothing: a key lock, a SQLite store's connection or its database's write lock
/// (busy_timeout 0), a file-store folder lock. Network I/O (PostgreSQL) and custom stores'
/// callbacks are not affected: a binding sends those to worker threads anyway.
public enum ThreadWaiting {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether the calling thread may wait (true unless turned off).
    public static var allowed: Bool {
        pthread_getspecific(key) == nil
    }

    /// Sets whether the calling thread may wait; returns the previous setting.
    @discardableResult
    public static func set(allowed: Bool) -> Bool {
        let before = self.allowed
        pthread_setspecific(key, allowed ? nil : UnsafeRawPointer(bitPattern: 1))
        return before
    }

    static func busy(_ what: String) -> BotSessionError {
        BotSessionError(.busy, "\(what) is locked, and this thread does not wait (botsession_thread_nowait): nothing was done; call again where waiting is allowed")
    }
}
