#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Counts the forks this process descends from, so a store can tell that it runs in a child
/// of the process that opened its connections without a `getpid()` system call per operation.
enum ForkGeneration {
    /// Changed only in a freshly forked child, before any other thread exists there.
    nonisolated(unsafe) private static var generation: UInt64 = 0

    private static let registered: Bool = {
        pthread_atfork(nil, nil) { ForkGeneration.generation &+= 1 }
        protectProcessWideMutexes()
        return true
    }()

    /// The process-wide mutexes (key locks, store identities, inherited connections): held by
    /// the forking thread across fork(), so no other thread is inside one at that moment, then
    /// released in the parent and made new in the child, where the threads that could have
    /// held them do not exist.
    private static let processWide = [StoreIdentity.lock, inherited.mutex, SQLiteStore.openTransactions.mutex,
                                      LockedDescriptors.open.mutex]

    /// One handler for everything, in this order: the barrier first (no thread is inside a
    /// library call after it, so none holds a library mutex, and a thread waiting outside
    /// holds none either), then the SQLite gate (work through the Swift API), then the mutexes
    /// and the key locks' table. `KeyLocks.shared` is made here, before any fork, never
    /// inside one.
    private static let protected: Bool = {
        let keyLocks = KeyLocks.shared
        ForkBarrier.initializeBeforeFork()
        pthread_atfork({
            ForkBarrier.closeForFork()
            ForkGate.sqlite.closeForFork()
            ForkGeneration.processWide.forEach { $0.lock() }
            KeyLocks.shared.lockForFork()
        }, {
            KeyLocks.shared.unlockAfterFork()
            ForkGeneration.processWide.reversed().forEach { $0.unlock() }
            ForkGate.sqlite.reopenInParent()
            ForkBarrier.reopenInParent()
        }, {
            KeyLocks.shared.resetInChild()
            ForkGeneration.processWide.forEach { $0.reinitializeAfterFork() }
            ForkGate.sqlite.reopenInChild()
            ForkBarrier.reopenInChild()
            LockedDescriptors.closeInChild()
        })
        _ = keyLocks
        return true
    }()

    /// Registers the fork handlers of the process-wide mutexes (once; cheap after that).
    static func protectProcessWideMutexes() { _ = protected }

    /// This process's generation: it differs from the one read before a fork.
    static var current: UInt64 {
        _ = registered
        return generation
    }

    /// Connections a forked child inherited from its parent, kept open and unused for the
    /// child's life: closing one would end the parent's database session or disturb its locks
    /// and WAL.
    static let inherited = LockedValue<[AnyObject]>([])

    /// When this process is not the one of `generation` (the generation a store opened its
    /// connections in), keeps `connections` alive and unused for good and returns true: the
    /// caller must open new ones. Returns false, doing nothing, otherwise.
    static func abandonIfForked(since generation: UInt64, _ connections: [AnyObject]) -> Bool {
        guard current != generation else { return false }
        inherited.withLock { $0 += connections }
        return true
    }
}
