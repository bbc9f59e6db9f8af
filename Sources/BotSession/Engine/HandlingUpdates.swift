/// The way a Swift program handles an update: a closure that commits when it returns and rolls
/// back when it throws, as the Python binding's `engine.run` and the C header's retry loop do.
extension Engine {
    /// Handles the update `json` (its JSON text): begins it, runs `handler` with its sessions,
    /// and commits what the handler left; when the handler throws, rolls back and rethrows.
    /// A commit that finds a concurrent writer (`Status.conflict`: nothing was written) runs the
    /// handler again on fresh sessions, at most `attempts` times in all; so send replies after
    /// this returns, from what the handler returned. A partial commit (`Status.partial`) is
    /// never re-run: the handler's change would apply twice.
    ///
    ///     let count = try engine.update(json) { session in
    ///         let count = Int(try session.get()?.string ?? "0") ?? 0
    ///         try session.set(JSONText("\(count + 1)"))
    ///         return count + 1
    ///     }
    public func update<T>(_ json: String, attempts: Int = 3, _ handler: (SessionUpdate) throws -> T) throws -> T {
        let attempts = max(1, attempts)
        var attempt = 0
        while true {
            attempt += 1
            let session = try begin(update: json)
            let result: T
            do {
                result = try handler(session)
            } catch {
                session.rollback()
                throw error
            }
            do throws(BotSessionError) {
                try session.commit()
            } catch {
                if error.status == .conflict && attempt < attempts { continue }
                throw error
            }
            return result
        }
    }

    /// A key function on Swift strings for `fragment` (nil for the single session): the
    /// update's JSON text in, its key out (nil: this update has no key).
    public func setKey(fragment: String? = nil,
                       _ function: @escaping @Sendable (String) throws(BotSessionError) -> String?) throws(BotSessionError) {
        let bytes: KeyFunction = { (update) throws(BotSessionError) -> [UInt8]? in
            guard let key = try function(update.string) else { return nil }
            return Array(key.utf8)
        }
        try setKeyFunction(bytes, fragment: fragment)
    }
}

extension SessionUpdate {
    /// Replaces the single session's value; nil or `null` deletes it at commit.
    public func set(_ value: JSONText?) throws(BotSessionError) {
        try set(nil, value)
    }
}
