#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `read(2)` and `write(2)`, under names apart from the store's own `read` and `write`.
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }

/// Sessions as JSON files in a directory, in grammY's file adapter layout (`FileLayout`).
///
/// Each value is one file holding the value's exact JSON text. A write goes to a temporary file
/// that is flushed to disk and renamed over the old one, then the directory is flushed, so a
/// crash leaves either the old value or the new one, never half of one. A file that exists but
/// cannot be read is STORAGE, never "absent"; an empty file (what grammY's in-place write leaves
/// after a crash) reads as absent, as grammY reads it.
///
/// Compare-and-set across processes: a commit holds an exclusive `flock` on the lock file of
/// each key's folder (`.botsession.lock`) while it compares what the files hold with what the
/// session read and renames its temporary files into place; a difference is CONFLICT and writes
/// nothing. The temporary files are written and flushed before the locks are taken, so the
/// window in which a writer that takes no lock (grammY's adapter) can be overwritten is only
/// the compare and the rename (`FileCommit`).
public final class FileStore: SessionStore, @unchecked Sendable {
    public let directory: String
    public let identity: String
    public let clock = ReplaceableClock()

    /// When set (tests only, `BOTSESSION_TEST_FILE_COMMIT_PAUSE`), a commit stops after writing
    /// its temporary files and before taking its locks, while this file exists (`FileCommit`).
    let testPauseGate: String?
    /// When each folder was last cleared of temporary files that killed writers left.
    let sweeps = LockedValue<[String: Int64]>([:])

    /// Opens the store in `directory`, creating it (and its parents) if needed.
    public init(directory: String) throws(BotSessionError) {
        guard !directory.isEmpty else {
            throw BotSessionError(.invalidOption, "the file store needs a directory: file:DIR")
        }
        try FileStore.makeDirectories(directory)
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw BotSessionError(.storage, "file store: '\(directory)' is not a directory")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw FileStore.failure("opening the file store in", directory)
        }
        self.directory = StoreIdentity.canonicalPath(directory)
        identity = "file:\(self.directory)"
        testPauseGate = getenv("BOTSESSION_TEST_FILE_COMMIT_PAUSE").map { String(cString: $0) }
    }

    /// The folder and the file of `key`.
    func location(of key: SessionKey) -> (folder: String, file: String) {
        let components = FileLayout.components(of: key)
        let folder = ([directory] + components.dropLast()).joined(separator: "/")
        return (folder, folder + "/" + components.last!)
    }

    public func read(_ key: SessionKey) throws(BotSessionError) -> StoredValue? {
        let file = location(of: key).file
        guard let bytes = try FileStore.readFile(file) else { return nil }
        let text = try JSONText(validating: bytes, what: "the file '\(file)' of key \(key)")
        return StoredValue(text: text, version: .content(bytes))
    }

    public func has(_ key: SessionKey) throws(BotSessionError) -> Bool {
        let file = location(of: key).file
        var info = stat()
        if stat(file, &info) == 0 { return info.st_mode & S_IFMT == S_IFREG && info.st_size > 0 }
        if errno == ENOENT || errno == ENOTDIR { return false }
        throw FileStore.failure("looking up", file)
    }

    public func write(_ key: SessionKey, _ value: JSONText) throws(BotSessionError) {
        try commit([.write(key, value)])
    }

    public func delete(_ key: SessionKey) throws(BotSessionError) {
        try commit([.delete(key)])
    }

    public func commit(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) {
        guard !changes.isEmpty else { return }
        try prepare(changes, timeoutMs: timeoutMs).write()
    }

    public func prepare(_ changes: [StoreChange], timeoutMs: Int64) throws(BotSessionError) -> any PreparedCommit {
        try FileCommit.prepare(changes, in: self, timeoutMs: timeoutMs)
    }

    public func cursor(prefix: [UInt8]) throws(BotSessionError) -> any StoreCursor {
        var keys: [SessionKey] = []
        for sub in try FileStore.list(directory) where sub.isDirectory {
            try collect(in: directory + "/" + sub.name, name: [], into: &keys)
        }
        let matching = keys.filter { $0.hasPrefix(prefix) }.sorted()
        return KeyListCursor(store: self, keys: matching)
    }

    /// Adds the keys stored under `folder`, whose path so far spells `name`.
    private func collect(in folder: String, name: [UInt8], into keys: inout [SessionKey]) throws(BotSessionError) {
        for entry in try FileStore.list(folder) {
            let entryName = Array(entry.name.utf8)
            if entry.isDirectory {
                try collect(in: folder + "/" + entry.name, name: name + entryName, into: &keys)
            } else if entry.name.hasSuffix(".json") {
                // Only files where the key's own path leads: strays (and temporary files) are not keys.
                if let key = FileLayout.key(fromName: name + entryName.dropLast(5)),
                   location(of: key).file == folder + "/" + entry.name {
                    keys.append(key)
                }
            }
        }
    }

    // MARK: - File system helpers

    /// The file's bytes, or nil when it does not exist or is empty (grammY's reading of an
    /// empty file).
    static func readFile(_ file: String) throws(BotSessionError) -> [UInt8]? {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw failure("opening", file)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("reading", file) }
        // Sized by fstat, with a byte to spare so that one read also sees the end; a file that
        // grew meanwhile is read on.
        var out = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var filled = 0
        while true {
            if filled == out.count { out += [UInt8](repeating: 0, count: out.count) }
            let n = out.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("reading", file)
            }
            if n == 0 {
                if filled == 0 { return nil }
                out.removeSubrange(filled...)
                return out
            }
            filled += n
        }
    }

    static func syncDirectory(_ folder: String) throws(BotSessionError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("opening the folder", folder) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw failure("flushing the folder", folder) }
    }

    static func makeDirectories(_ path: String) throws(BotSessionError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw failure("creating the folder", current)
            }
        }
    }

    /// The entries of `folder`, without `.` and `..`. (Other names starting with a dot stay: a
    /// plain key such as `a.b` lives in the sub-folder `.b`, as in grammY's layout.)
    static func list(_ folder: String) throws(BotSessionError) -> [(name: String, isDirectory: Bool)] {
        guard let dir = opendir(folder) else { throw failure("listing", folder) }
        defer { closedir(dir) }
        var entries: [(String, Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var info = stat()
                isDirectory = stat(folder + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
            }
            entries.append((name, isDirectory))
        }
        return entries
    }

    static func failure(_ doing: String, _ path: String) -> BotSessionError {
        let reason = String(cString: strerror(errno))
        return BotSessionError(.storage, "file store: failed \(doing) '\(path)': \(reason)")
    }
}
