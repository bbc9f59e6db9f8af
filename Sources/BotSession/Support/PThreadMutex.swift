#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A plain mutex around `pthread_mutex_t`.
///
/// Chosen over `Synchronization.Mutex` because it holds non-Sendable state without
/// region-isolation friction and ThreadSanitizer understands it (see BUILD-NOTES.md).
/// Never call user code while holding one.
final class PThreadMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    /// Takes the mutex if it is free; false (not taken) otherwise.
    func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// In a forked child only: makes the mutex new and unlocked, whoever held it in the parent
    /// (a thread that does not exist in the child would otherwise hold it for ever).
    func reinitializeAfterFork() {
        pthread_mutex_init(mutex, nil)
    }

    @inline(__always)
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A value behind its own mutex.
final class LockedValue<Value>: @unchecked Sendable {
    let mutex = PThreadMutex()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        mutex.withLock { body(&value) }
    }
}
