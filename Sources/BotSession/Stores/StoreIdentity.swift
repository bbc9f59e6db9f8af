/// Identities for stores that exist only in this process (memory, `sqlite::memory:`, custom):
/// each store object gets its own.
enum StoreIdentity {
    private static let lock = PThreadMutex()
    nonisolated(unsafe) private static var counter: UInt64 = 0

    /// `scheme` followed by `#` and a number no other store of this process has.
    static func unique(_ scheme: String) -> String {
        let n = lock.withLock { () -> UInt64 in
            counter += 1
            return counter
        }
        return "\(scheme)#\(n)"
    }
}
