#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What makes store identities: two handles on one database share one identity (and so one set
/// of key locks); stores that exist only in this process (memory, `sqlite::memory:`, custom)
/// get one each.
enum StoreIdentity {
    static let lock = PThreadMutex()
    nonisolated(unsafe) private static var counter: UInt64 = 0

    /// `scheme` followed by `#` and a number no other store of this process has.
    static func unique(_ scheme: String) -> String {
        let n = lock.withLock { () -> UInt64 in
            counter += 1
            return counter
        }
        return "\(scheme)#\(n)"
    }

    /// The file's absolute path with symbolic links resolved, so two spellings of one file share
    /// one identity.
    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
