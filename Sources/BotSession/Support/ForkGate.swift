#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A readers-writer lock that fork() takes as the writer (`ForkGeneration`'s handlers), for work
/// that a fork must not cut in half.
///
/// SQLite keeps the lock state of every file in tables shared by all connections of a process
/// to it. A fork while a thread is inside a write would hand the child a table that says this
/// process holds the file's write lock, and every fresh connection of the child would wait for
/// it for ever. So SQLite statements and transactions hold the gate as readers, and a fork waits
/// until none is in flight. (glibc's default prefers readers: a thread already inside may enter
/// again while a fork waits.)
final class ForkGate: @unchecked Sendable {
    static let sqlite = ForkGate()

    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    private init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    func enter() {
        pthread_rwlock_rdlock(lock)
        ForkBarrier.enterSQLite()
    }

    func leave() {
        ForkBarrier.leaveSQLite()
        pthread_rwlock_unlock(lock)
    }

    /// fork()'s prepare handler: waits for the work in flight and lets none start.
    func closeForFork() { pthread_rwlock_wrlock(lock) }
    /// fork()'s parent handler.
    func reopenInParent() { pthread_rwlock_unlock(lock) }
    /// fork()'s child handler: a new, open gate (the parent's threads are not here).
    func reopenInChild() { pthread_rwlock_init(lock, nil) }
}
