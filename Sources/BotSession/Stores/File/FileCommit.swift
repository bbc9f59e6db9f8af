#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A commit of the file store, in the order that keeps other writers' data:
///
/// 1. every new value is written to a temporary file in its key's folder and flushed, before
///    any lock is taken (the slow part, outside the window a lock-free writer can fall into);
/// 2. the folders' lock files are locked in sorted order, each wait bounded by the deadline
///    (BUSY after), and what every file holds now is compared with what the session read
///    (CONFLICT, with nothing written, when another writer changed it);
/// 3. `write` renames the temporary files into place (or removes deleted files), releases the
///    locks, then flushes the folders.
///
/// A temporary file has a random name and is `flock`ed by its writer as long as it exists, so a
/// sweep (`sweepStaleTemporaries`) can tell a killed writer's leftover from a live writer's file.
final class FileCommit: PreparedCommit {
    /// One change, ready to be put in place.
    private struct Staged {
        let key: SessionKey
        let folder: String
        let file: String
        /// The flushed temporary file holding the new value; nil for a delete.
        var temporary: Temporary?
    }

    private let store: FileStore
    private var staged: [Staged]
    private var locks: [FolderLock]
    private var ended = false

    private init(store: FileStore, staged: [Staged], locks: [FolderLock]) {
        self.store = store
        self.staged = staged
        self.locks = locks
    }

    deinit { abort() }

    static func prepare(_ changes: [StoreChange], in store: FileStore, timeoutMs: Int64) throws(BotSessionError) -> FileCommit {
        var staged: [Staged] = []
        var locks: [FolderLock] = []
        do throws(BotSessionError) {
            for change in changes {
                let (folder, file) = store.location(of: change.key)
                var entry = Staged(key: change.key, folder: folder, file: file)
                if case .write(_, let value, _, _) = change {
                    store.sweepStaleTemporaries(in: folder)
                    entry.temporary = try Temporary(in: folder, holding: value.bytes)
                }
                staged.append(entry)
            }
            store.pauseForTests()
            // The wait for locks starts now: writing the temporary files took no lock. A thread
            // that must not wait (ThreadWaiting) tries each lock once.
            let deadline = monotonicMs() + (ThreadWaiting.allowed ? max(0, timeoutMs) : 0)
            for folder in Set(staged.map(\.folder)).sorted() {
                locks.append(try FolderLock(folder, deadline: deadline))
            }
            // Every expectation, checked under the locks.
            var kept: [Staged] = []
            for (change, entry) in zip(changes, staged) {
                if try FileCommit.holds(change.expectation, at: entry.file) {
                    kept.append(entry)
                } else {
                    try change.expectationFailed(in: "the file store '\(store.directory)'")
                    entry.temporary?.discard()  // housekeeping another writer made unnecessary
                }
            }
            return FileCommit(store: store, staged: kept, locks: locks)
        } catch {
            for entry in staged { entry.temporary?.discard() }
            locks.removeAll()
            throw error
        }
    }

    /// Whether the file still holds what a commit expects.
    private static func holds(_ expectation: Expectation, at file: String) throws(BotSessionError) -> Bool {
        switch expectation {
        case .any: return true
        case .absent: return try FileStore.readFile(file) == nil
        case .version(.content(let read)): return try FileStore.readFile(file) == read
        case .version(.counter): return false
        }
    }

    func write() throws(BotSessionError) {
        guard !ended else { return }
        ended = true
        var done = 0
        var failure: BotSessionError?
        for entry in staged {
            if let temporary = entry.temporary {
                if rename(temporary.path, entry.file) != 0 {
                    failure = FileStore.failure("renaming a temporary file to", entry.file)
                    break
                }
            } else if unlink(entry.file) != 0 && errno != ENOENT && errno != ENOTDIR {
                failure = FileStore.failure("deleting", entry.file)
                break
            }
            done += 1
        }
        for entry in staged[done...] { entry.temporary?.discard() }
        for entry in staged[..<done] { entry.temporary?.close() }
        locks.removeAll()
        if failure == nil {
            for folder in Set(staged.map(\.folder)).sorted() {
                do throws(BotSessionError) {
                    try FileStore.syncDirectory(folder)
                } catch {
                    failure = error
                    break
                }
            }
        }
        guard let failure else { return }
        guard done > 0 else { throw failure }
        let written = staged[..<done].map { "\($0.key)" }.joined(separator: ", ")
        let missed = staged[done...].map { "\($0.key)" }
        let rest = missed.isEmpty ? "(not flushed to disk)" : "but not key \(missed.joined(separator: ", "))"
        throw BotSessionError(.partial, "the file store '\(store.directory)' wrote key \(written) \(rest): \(failure.message)")
    }

    func abort() {
        guard !ended else { return }
        ended = true
        for entry in staged { entry.temporary?.discard() }
        locks.removeAll()
    }
}

/// The descriptors that hold a file-store lock (folder locks, temporary files) in this process.
/// A forked child closes its copies at once (`ForkGeneration`): an flock belongs to the open file,
/// which the child shares, so a child that kept them would hold the parent's locks for its life.
///
/// Opening and closing happen under the registry's mutex, which fork() holds across the fork
/// (`ForkGeneration`): a child never gets a copy that the registry does not list.
enum LockedDescriptors {
    static let open = LockedValue<Set<Int32>>([])

    /// `open(2)` of `path`, listed; -1 (errno set) on failure.
    static func openListed(_ path: String, _ flags: Int32) -> Int32 {
        open.withLock { fds in
            let fd = Glibc.open(path, flags, 0o644)
            if fd >= 0 { fds.insert(fd) }
            return fd
        }
    }

    /// Closes a descriptor of `openListed`, and unlists it.
    static func closeListed(_ fd: Int32) {
        open.withLock { fds in
            fds.remove(fd)
            Glibc.close(fd)
        }
    }

    /// In a forked child: closes every copy (the parent's locks stay the parent's).
    static func closeInChild() {
        open.withLock { fds in
            for fd in fds { Glibc.close(fd) }
            fds.removeAll()
        }
    }
}

/// An exclusive `flock` on a folder's lock file, held while the value lives.
private final class FolderLock {
    private let fd: Int32

    /// Locks `folder`'s lock file (creating the folder when missing), trying until `deadline`
    /// (monotonic milliseconds), then BUSY.
    init(_ folder: String, deadline: Int64) throws(BotSessionError) {
        let lockFile = folder + "/.botsession.lock"
        var fd = LockedDescriptors.openListed(lockFile, O_RDWR | O_CREAT | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            try FileStore.makeDirectories(folder)
            fd = LockedDescriptors.openListed(lockFile, O_RDWR | O_CREAT | O_CLOEXEC)
        }
        guard fd >= 0 else { throw FileStore.failure("opening the lock file", lockFile) }
        var pauseMs: Int64 = 1
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            guard errno == EWOULDBLOCK else {
                let failure = FileStore.failure("locking", lockFile)
                LockedDescriptors.closeListed(fd)
                throw failure
            }
            let left = deadline - monotonicMs()
            if left <= 0 {
                LockedDescriptors.closeListed(fd)
                throw BotSessionError(.busy, "file store: timed out waiting for the lock '\(lockFile)', which another writer holds; retry, or raise lock_timeout_ms")
            }
            usleep(UInt32(min(pauseMs, left) * 1000))
            pauseMs = min(pauseMs * 2, 16)
        }
        self.fd = fd
    }

    deinit { LockedDescriptors.closeListed(fd) }  // closing releases the lock
}

/// A temporary file in a key's folder holding a new value, flushed to disk, and `flock`ed by
/// this writer until it is renamed into place or discarded.
final class Temporary {
    static let prefix = ".botsession-"
    static let suffix = ".tmp"

    let path: String
    private var fd: Int32

    init(in folder: String, holding bytes: [UInt8]) throws(BotSessionError) {
        var made: (String, Int32)?
        var attempts = 0
        while made == nil {
            attempts += 1
            // A random part: names stay unique after a crash and a reused process id.
            var random = SystemRandomNumberGenerator()
            let path = "\(folder)/\(Temporary.prefix)\(getpid())-\(String(random.next() as UInt64, radix: 16))\(Temporary.suffix)"
            var fd = LockedDescriptors.openListed(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC)
            if fd < 0 && errno == ENOENT {
                try FileStore.makeDirectories(folder)
                fd = LockedDescriptors.openListed(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC)
            }
            if fd >= 0 {
                made = (path, fd)
            } else if errno != EEXIST || attempts >= 16 {
                throw FileStore.failure("creating", path)
            }
        }
        path = made!.0
        fd = made!.1
        // No one else has the new file yet, so this cannot wait.
        _ = flock(fd, LOCK_EX | LOCK_NB)
        var written = 0
        var failure: BotSessionError?
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = posixWrite(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = FileStore.failure("writing", path)
                    return
                }
                written += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = FileStore.failure("flushing", path) }
        if let failure {
            discard()
            throw failure
        }
    }

    /// Removes the file and lets go of it (once; later calls do nothing).
    func discard() {
        guard fd >= 0 else { return }
        unlink(path)
        close()
    }

    /// Lets go of the file (and its lock) without removing it: it was renamed into place.
    func close() {
        guard fd >= 0 else { return }
        LockedDescriptors.closeListed(fd)
        fd = -1
    }

    deinit { close() }
}

extension FileStore {
    /// Removes from `folder` the temporary files that killed writers left: those older than a
    /// minute that no writer holds (a live writer keeps its temporary file locked). Each folder
    /// is swept at most once a minute per store handle, when a write touches it: the work stays
    /// bounded by the folders in use, never a scan of the whole store.
    func sweepStaleTemporaries(in folder: String) {
        let now = monotonicMs()
        let due = sweeps.withLock { (last: inout [String: Int64]) -> Bool in
            if let at = last[folder], now - at < 60_000 { return false }
            if last.count >= 4096 { last.removeAll() }
            last[folder] = now
            return true
        }
        guard due, let entries = try? FileStore.list(folder) else { return }
        let cutoff = time(nil) - 60
        for entry in entries where !entry.isDirectory
            && entry.name.hasPrefix(Temporary.prefix) && entry.name.hasSuffix(Temporary.suffix) {
            let path = folder + "/" + entry.name
            var info = stat()
            guard stat(path, &info) == 0, info.st_mtim.tv_sec < cutoff else { continue }
            let fd = LockedDescriptors.openListed(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(path) }
            LockedDescriptors.closeListed(fd)
        }
    }

    /// The test-only pause point between writing the temporary files and taking the locks:
    /// with `BOTSESSION_TEST_FILE_COMMIT_PAUSE=GATE` set when the store was opened, a commit
    /// that finds the file GATE creates `GATE.reached` and waits (10 s at most) until GATE is
    /// removed, so a test can write to the store at exactly this point.
    func pauseForTests() {
        guard let gate = testPauseGate, access(gate, F_OK) == 0 else { return }
        let reached = open(gate + ".reached", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        if reached >= 0 { Glibc.close(reached) }
        let deadline = monotonicMs() + 10_000
        while access(gate, F_OK) == 0 && monotonicMs() < deadline { usleep(1000) }
    }
}
