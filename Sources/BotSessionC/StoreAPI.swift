import BotSession
import CBotSessionABI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Stores: opening, custom stores, direct operations, clocks, closing.

@_cdecl("botsession_store_open")
public func botsession_store_open_c(_ uri: UnsafePointer<CChar>?, _ options: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        guard let out else { throw misuse("out is NULL") }
        let opened = try StoreURI.open(bytes: Array(try bytes(uri, "uri")), optionsJSON: optionalBytes(options))
        out.pointee = storeHandle(opened)
    }
}

@_cdecl("botsession_store_custom")
public func botsession_store_custom_c(_ methods: UnsafePointer<botsession_store_methods>?,
                               _ userData: UnsafeMutableRawPointer?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        guard let out else { throw misuse("out is NULL") }
        guard let methods else { throw misuse("methods is NULL") }
        // Copy only the members the caller's struct has (`size`); later members stay NULL.
        let given = UnsafeRawPointer(methods).load(as: Int.self)
        try checkMethodsSize(given, UnsafeRawPointer(methods))
        var copy = botsession_store_methods()
        withUnsafeMutableBytes(of: &copy) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: methods, count: min(given, target.count)))
        }
        guard copy.read != nil, copy.write != nil, copy.remove != nil else {
            throw misuse("a custom store needs the read, write and remove methods")
        }
        out.pointee = storeHandle(CustomStore(customStoreMethods(copy, userData)))
    }
}

/// The largest `size` taken for a `botsession_store_methods` of a newer header (room for over a
/// hundred more members): a larger one is an uninitialised `size`, and its bytes are not read.
private let largestMethodsSize = 1024

/// Checks a custom store's `methods->size`: at least up to `remove` (an older header may lack the
/// optional members, which then stay NULL), and when larger than this library's struct (a newer
/// header), every byte beyond the members this library knows must be zero: a member it would
/// silently drop is refused.
private func checkMethodsSize(_ given: Int, _ methods: UnsafeRawPointer) throws(BotSessionError) {
    let known = MemoryLayout<botsession_store_methods>.size
    let required = MemoryLayout<botsession_store_methods>.offset(of: \botsession_store_methods.remove)!
        + MemoryLayout<Int>.size
    guard given >= required else {
        throw misuse("methods->size is \(given), less than the \(required) bytes that hold read, write and remove; set it to sizeof(botsession_store_methods)")
    }
    guard given > known else { return }
    let version = String(cString: botsession_version_c())
    guard given <= largestMethodsSize else {
        throw misuse("methods->size is \(given), which no version of botsession_store_methods has (this library's, BotSession \(version), is \(known) bytes); set it to sizeof(botsession_store_methods)")
    }
    let extra = UnsafeRawBufferPointer(start: methods + known, count: given - known)
    if let offset = extra.firstIndex(where: { $0 != 0 }) {
        let member = known + offset / MemoryLayout<Int>.size * MemoryLayout<Int>.size
        throw misuse("methods->size is \(given) bytes and a member at byte \(member) is set, but this library (BotSession \(version)) knows botsession_store_methods of \(known) bytes: the caller was built against a newer header of BotSession than \(version), the version of the library it runs with, and that member would be ignored; use a library at least as new as the header (or leave the newer members NULL)")
    }
}

@_cdecl("botsession_store_enhance")
public func botsession_store_enhance_c(_ inner: OpaquePointer?, _ options: UnsafePointer<CChar>?,
                                       _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let wrapped = try store(inner, "inner")
        guard let out else { throw misuse("out is NULL") }
        let enhanced = try EnhancedStore(wrapped, optionsJSON: optionalBytes(options))
        out.pointee = storeHandle(enhanced)
    }
}

@_cdecl("botsession_store_add_migration")
public func botsession_store_add_migration_c(_ enhanced: OpaquePointer?, _ version: Double,
                                             _ fn: botsession_migrate_fn?, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    call { () throws(BotSessionError) in
        guard let target = try store(enhanced, "enhanced") as? EnhancedStore else {
            throw misuse("this store is not enhanced; add migrations to the store botsession_store_enhance returned")
        }
        guard let fn else { throw misuse("fn is NULL") }
        try target.addMigration(version: version, migrationFunction(fn, userData))
    }
}

@_cdecl("botsession_store_read")
public func botsession_store_read_c(_ s: OpaquePointer?, _ key: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let store = try store(s, "s")
        guard let out else { throw misuse("json_out is NULL") }
        let found = try store.value(try keyArgument(key))
        out.pointee = try found.map { (v) throws(BotSessionError) in try copyOut(v.bytes) }
    }
}

@_cdecl("botsession_store_write")
public func botsession_store_write_c(_ s: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ json: UnsafePointer<CChar>?) -> Int32 {
    call { () throws(BotSessionError) in
        let store = try store(s, "s")
        let k = try keyArgument(key)
        let value = try JSONText(validating: try bytes(json, "json"), what: "the value")
        try store.write(k, value)
    }
}

@_cdecl("botsession_store_delete")
public func botsession_store_delete_c(_ s: OpaquePointer?, _ key: UnsafePointer<CChar>?) -> Int32 {
    call { () throws(BotSessionError) in
        let store = try store(s, "s")
        try store.delete(try keyArgument(key))
    }
}

@_cdecl("botsession_store_merge")
public func botsession_store_merge_c(_ s: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ patch: UnsafePointer<CChar>?,
                                     _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    return call { () throws(BotSessionError) in
        let store = try store(s, "s")
        let k = try keyArgument(key)
        let changes = try JSONText(validating: try bytes(patch, "patch_json"), what: "the patch")
        let merged = try store.merge(k, patch: changes)
        if let out { out.pointee = try copyOut(merged.bytes) }
    }
}

@_cdecl("botsession_store_move")
public func botsession_store_move_c(_ s: OpaquePointer?, _ from: UnsafePointer<CChar>?, _ to: UnsafePointer<CChar>?,
                                    _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    out?.pointee = 0
    return call { () throws(BotSessionError) in
        let store = try store(s, "s")
        let old = try keyArgument(from, "from_key")
        let new = try keyArgument(to, "to_key")
        let outcome = try store.move(old, to: new)
        out?.pointee = outcome == .moved ? 1 : 0
    }
}

@_cdecl("botsession_store_has")
public func botsession_store_has_c(_ s: OpaquePointer?, _ key: UnsafePointer<CChar>?,
                            _ out: UnsafeMutablePointer<Int32>?) -> Int32 {
    out?.pointee = 0
    return call { () throws(BotSessionError) in
        let store = try store(s, "s")
        guard let out else { throw misuse("exists_out is NULL") }
        out.pointee = try store.has(try keyArgument(key)) ? 1 : 0
    }
}

@_cdecl("botsession_store_set_clock")
public func botsession_store_set_clock_c(_ s: OpaquePointer?, _ fn: botsession_clock_fn?,
                                  _ userData: UnsafeMutableRawPointer?) -> Int32 {
    call { () throws(BotSessionError) in
        let store = try store(s, "s")
        store.setClock(fn.map { clock($0, userData) })
    }
}

@_cdecl("botsession_store_close")
public func botsession_store_close_c(_ s: OpaquePointer?) {
    insideForkBarrier { releaseStore(s) }
}
