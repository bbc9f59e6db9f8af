import BotSession

// One update: begin, get, set, clear, key, commit, rollback.

@_cdecl("botsession_begin")
public func botsession_begin_c(_ e: OpaquePointer?, _ update: UnsafePointer<CChar>?,
                        _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let engine = try engineObject(e)
        guard let out else { throw misuse("out is NULL") }
        let text = try bytes(update, "update_json")  // NUL-terminated, as UpdateJSON needs
        let started = try engine.begin(update: UpdateJSON(nulTerminated: text))
        out.pointee = updateHandle(started)
    }
}

@_cdecl("botsession_begin_nowait")
public func botsession_begin_nowait_c(_ e: OpaquePointer?, _ update: UnsafePointer<CChar>?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let engine = try engineObject(e)
        guard let out else { throw misuse("out is NULL") }
        let text = try bytes(update, "update_json")
        let started = try engine.begin(update: UpdateJSON(nulTerminated: text), waiting: false, reading: false)
        out.pointee = updateHandle(started)
    }
}

@_cdecl("botsession_read_sessions")
public func botsession_read_sessions_c(_ u: OpaquePointer?) -> Int32 {
    call { () throws(BotSessionError) in
        try updateObject(u).read()
    }
}

@_cdecl("botsession_lock_names")
public func botsession_lock_names_c(_ e: OpaquePointer?, _ update: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let engine = try engineObject(e)
        guard let out else { throw misuse("json_out is NULL") }
        let text = try bytes(update, "update_json")
        let names = try engine.lockNames(update: UpdateJSON(nulTerminated: text))
        out.pointee = try copyOut(lockNamesJSON(names))
    }
}

@_cdecl("botsession_get")
public func botsession_get_c(_ u: OpaquePointer?, _ fragment: UnsafePointer<CChar>?,
                      _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let update = try updateObject(u)
        guard let out else { throw misuse("json_out is NULL") }
        let value = try update.get(fragmentBytes: optionalBytes(fragment))
        out.pointee = try value.map { (v) throws(BotSessionError) in try copyOut(v.bytes) }
    }
}

@_cdecl("botsession_set")
public func botsession_set_c(_ u: OpaquePointer?, _ fragment: UnsafePointer<CChar>?, _ json: UnsafePointer<CChar>?) -> Int32 {
    call { () throws(BotSessionError) in
        let update = try updateObject(u)
        let value: UnsafeBufferPointer<UInt8>? = json == nil ? nil : try bytes(json, "json")
        try update.set(fragmentBytes: optionalBytes(fragment), json: value)
    }
}

@_cdecl("botsession_clear")
public func botsession_clear_c(_ u: OpaquePointer?) -> Int32 {
    call { () throws(BotSessionError) in
        try updateObject(u).clear()
    }
}

@_cdecl("botsession_key")
public func botsession_key_c(_ u: OpaquePointer?, _ fragment: UnsafePointer<CChar>?,
                      _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let update = try updateObject(u)
        guard let out else { throw misuse("key_out is NULL") }
        let key = try update.key(fragmentBytes: optionalBytes(fragment))
        out.pointee = try key.map { (k) throws(BotSessionError) in try copyOut(k.bytes) }
    }
}

@_cdecl("botsession_commit")
public func botsession_commit_c(_ u: OpaquePointer?) -> Int32 {
    call { () throws(BotSessionError) in
        let update = try updateObject(u)
        defer { releaseUpdate(u) }
        try update.commit()
    }
}

@_cdecl("botsession_rollback")
public func botsession_rollback_c(_ u: OpaquePointer?) {
    ForkBarrier.enter()
    defer { ForkBarrier.leave() }
    let update: SessionUpdate
    do throws(BotSessionError) {
        update = try updateObject(u)
    } catch {
        if u != nil { _ = report(error) }
        return
    }
    update.rollback()
    releaseUpdate(u)
}

/// `[["<store>", "<key>"], ...]`: the lock names of botsession_lock_names as JSON.
private func lockNamesJSON(_ names: [(store: String, key: SessionKey)]) -> [UInt8] {
    var out: [UInt8] = [0x5B]
    for (i, name) in names.enumerated() {
        if i > 0 { out.append(0x2C) }
        out.append(0x5B)
        JSONWriter.string(Array(name.store.utf8), into: &out)
        out.append(0x2C)
        JSONWriter.string(name.key.bytes, into: &out)
        out.append(0x5D)
    }
    out.append(0x5D)
    return out
}
