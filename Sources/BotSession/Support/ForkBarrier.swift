#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// fork() waits for the library calls in flight, so no thread of the parent is inside the
/// library's code at the moment of the fork.
///
/// Why: the Swift runtime takes process-wide locks of its own the first time a thread needs a
/// type's metadata or a protocol conformance. A fork while another thread holds one hands the
/// child a lock nobody will release, and the child hangs at its first such lookup (seen in
/// test_fork under AddressSanitizer: a child stuck in `ConformanceState::cacheResult`). The C
/// layer runs every exported function inside the barrier (`enter`/`leave`), fork()'s prepare
/// handler closes it (`ForkGeneration`), and a thread steps outside (`outside`) wherever it
/// may wait long or runs the caller's code: callbacks (which may fork themselves), waits for a
/// key lock, a merge's pauses. A thread inside SQLite work (`ForkGate.sqlite`) never steps
/// outside: fork() waits for that work anyway, and re-entering after it would deadlock.
///
/// Code that uses the Swift API directly, not through the C layer, is not inside the barrier;
/// `outside` does nothing there.
public enum ForkBarrier {
    /// Writers first: a fork is not starved by threads that keep calling. No thread ever takes
    /// it twice (`depth` below), which a writer-preferring lock would not survive.
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_rwlock_t> = {
        let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        initialize(lock)
        return lock
    }()

    private static func initialize(_ lock: UnsafeMutablePointer<pthread_rwlock_t>) {
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    /// Per thread: how deep in library calls (low 32 bits; nested calls from callbacks count
    /// again) and in SQLite work (high 32 bits).
    private static let depthKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private static var depth: UInt {
        get { UInt(bitPattern: pthread_getspecific(depthKey)) }
        set { pthread_setspecific(depthKey, UnsafeRawPointer(bitPattern: newValue)) }
    }

    private static let sqliteUnit: UInt = 1 << 32

    /// The start of a library call (the C layer's `call`): waits while a fork is under way.
    @inline(__always)
    public static func enter() {
        let d = depth
        if d & (sqliteUnit - 1) == 0 {
            ForkGeneration.protectProcessWideMutexes()
            pthread_rwlock_rdlock(lock)
        }
        depth = d + 1
    }

    /// The end of a library call.
    @inline(__always)
    public static func leave() {
        let d = depth - 1
        depth = d
        if d & (sqliteUnit - 1) == 0 { pthread_rwlock_unlock(lock) }
    }

    /// Runs `body` with this thread outside the barrier, so a fork need not wait for it: a
    /// callback into the caller's code, a wait. Inside SQLite work, or outside any library
    /// call, it just runs `body`.
    public static func outside<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let d = depth
        guard d & (sqliteUnit - 1) != 0, d < sqliteUnit else { return try body() }
        depth = 0
        pthread_rwlock_unlock(lock)
        defer {
            pthread_rwlock_rdlock(lock)
            depth = d
        }
        return try body()
    }

    /// SQLite work starts and ends on this thread (`ForkGate.sqlite`): no stepping outside in
    /// between.
    static func enterSQLite() { depth += sqliteUnit }
    static func leaveSQLite() { depth -= sqliteUnit }

    /// Makes the lock and the per-thread key now, before fork()'s handlers are registered,
    /// so that they are never made inside one.
    static func initializeBeforeFork() {
        _ = lock
        _ = depthKey
    }

    /// fork()'s prepare handler: waits for the calls in flight and lets none start.
    static func closeForFork() { pthread_rwlock_wrlock(lock) }
    /// fork()'s parent handler.
    static func reopenInParent() { pthread_rwlock_unlock(lock) }
    /// fork()'s child handler: a new, open barrier (the parent's other threads are not here;
    /// the forking thread's depth stays as it was, and it leaves as it entered).
    static func reopenInChild() { initialize(lock) }
}
