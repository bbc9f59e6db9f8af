import BotSession
import CBotSessionABI

// Engines: options, stores and callbacks per fragment.

@_cdecl("botsession_engine_new")
public func botsession_engine_new_c(_ options: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        guard let out else { throw misuse("out is NULL") }
        let engine = Engine(options: try EngineOptions(json: optionalBytes(options)))
        out.pointee = engineHandle(engine)
    }
}

@_cdecl("botsession_engine_set_store")
public func botsession_engine_set_store_c(_ e: OpaquePointer?, _ fragment: UnsafePointer<CChar>?, _ s: OpaquePointer?) -> Int32 {
    call { () throws(BotSessionError) in
        let engine = try engineObject(e)
        try engine.setStore(try store(s, "s"), fragmentBytes: optionalBytes(fragment))
    }
}

@_cdecl("botsession_engine_set_key_fn")
public func botsession_engine_set_key_fn_c(_ e: OpaquePointer?, _ fragment: UnsafePointer<CChar>?,
                                    _ fn: botsession_key_fn?, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    call { () throws(BotSessionError) in
        let engine = try engineObject(e)
        guard let fn else { throw misuse("fn is NULL") }
        try engine.setKeyFunction(keyFunction(fn, userData), fragmentBytes: optionalBytes(fragment))
    }
}

@_cdecl("botsession_engine_set_initial_fn")
public func botsession_engine_set_initial_fn_c(_ e: OpaquePointer?, _ fragment: UnsafePointer<CChar>?,
                                        _ fn: botsession_initial_fn?, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    call { () throws(BotSessionError) in
        let engine = try engineObject(e)
        guard let fn else { throw misuse("fn is NULL") }
        try engine.setInitial(initialFunction(fn, userData), fragmentBytes: optionalBytes(fragment))
    }
}

@_cdecl("botsession_engine_stats")
public func botsession_engine_stats_c(_ e: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let engine = try engineObject(e)
        guard let out else { throw misuse("json_out is NULL") }
        out.pointee = try copyOut(engine.counters.json())
    }
}

@_cdecl("botsession_migrate_chat")
public func botsession_migrate_chat_c(_ e: OpaquePointer?, _ old: Int64, _ new: Int64) -> Int32 {
    call { () throws(BotSessionError) in
        _ = try engineObject(e).migrateChat(from: old, to: new)
    }
}

@_cdecl("botsession_engine_free")
public func botsession_engine_free_c(_ e: OpaquePointer?) {
    insideForkBarrier { releaseEngine(e) }
}
