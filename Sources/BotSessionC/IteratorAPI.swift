import BotSession

// Key iteration over a store.

@_cdecl("botsession_store_iter")
public func botsession_store_iter_c(_ s: OpaquePointer?, _ prefix: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let store = try store(s, "s")
        guard let out else { throw misuse("out is NULL") }
        let cursor = try store.cursor(prefix: optionalBytes(prefix) ?? [])
        out.pointee = cursorHandle(cursor)
    }
}

@_cdecl("botsession_iter_next")
public func botsession_iter_next_c(_ it: OpaquePointer?,
                            _ keyOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            _ jsonOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    keyOut?.pointee = nil
    jsonOut?.pointee = nil
    return call { () throws(BotSessionError) in
        let cursor = try cursorObject(it)
        guard let keyOut else { throw misuse("key_out is NULL") }
        guard let entry = try cursor.next() else { return }
        let key = try copyOut(entry.key.bytes)
        if let jsonOut {
            do throws(BotSessionError) {
                jsonOut.pointee = try copyOut(entry.value.bytes)
            } catch {
                botsession_free_c(key)
                throw error
            }
        }
        keyOut.pointee = key
    }
}

@_cdecl("botsession_iter_free")
public func botsession_iter_free_c(_ it: OpaquePointer?) {
    insideForkBarrier { releaseCursor(it) }
}
