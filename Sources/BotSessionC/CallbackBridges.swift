import BotSession
import CBotSessionABI

/// C callbacks as the engine's Swift closures. A C function pointer and its user data are
/// plain values; the caller promises the user data stays valid and the function thread-safe
/// (see the header), which is what makes them Sendable here.
struct UserData: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
}

/// Runs one call of a C callback. What it says with `botsession_callback_error` belongs to
/// this call: the message is cleared before it and, when the callback fails, becomes part of
/// the CALLBACK message. A callback that runs nested inside another (a key callback that calls
/// back into the library) leaves the outer one's message as it was.
func invokeCallback(_ what: String, _ body: () -> Int32) throws(BotSessionError) {
    let outer = callbackMessage.bytes
    callbackMessage.set(nil)
    defer { callbackMessage.set(outer) }
    // The caller's code runs outside the fork barrier: it may fork, or wait for a thread that does.
    let rc = ForkBarrier.outside { body() }
    guard rc != 0 else { return }
    var message = "\(what) failed (returned \(rc))"
    if let said = callbackMessage.bytes, !said.isEmpty {
        message += ": " + String(decoding: said, as: UTF8.self)
    }
    throw BotSessionError(.callback, message)
}

/// Calls a C callback that fills a buffer: the buffer's bytes, or nil when left unset.
func callFilling(_ what: String, _ body: (OpaquePointer) -> Int32) throws(BotSessionError) -> [UInt8]? {
    let buffer = CallbackBuffer()
    try invokeCallback(what) { buffer.withHandle(body) }
    return buffer.bytes
}

func keyFunction(_ fn: botsession_key_fn, _ userData: UnsafeMutableRawPointer?) -> KeyFunction {
    let data = UserData(pointer: userData)
    return { (update) throws(BotSessionError) in
        try callFilling("the key callback") { fn(data.pointer, update.cString, $0) }
    }
}

func initialFunction(_ fn: botsession_initial_fn, _ userData: UnsafeMutableRawPointer?) -> InitialValue {
    let data = UserData(pointer: userData)
    return .function { () throws(BotSessionError) in
        try callFilling("the initial callback") { fn(data.pointer, $0) }
    }
}

func migrationFunction(_ fn: botsession_migrate_fn, _ userData: UnsafeMutableRawPointer?) -> MigrationFunction {
    let data = UserData(pointer: userData)
    return { (old) throws(BotSessionError) in
        try withCString(old.bytes) { (p) throws(BotSessionError) in
            try callFilling("the migration callback") { fn(data.pointer, p, $0) }
        }
    }
}

func clock(_ fn: botsession_clock_fn, _ userData: UnsafeMutableRawPointer?) -> Clock {
    let data = UserData(pointer: userData)
    return { ForkBarrier.outside { fn(data.pointer) } }
}

/// A custom store's C methods as the engine's `CustomStore.Methods`.
func customStoreMethods(_ m: botsession_store_methods, _ userData: UnsafeMutableRawPointer?) -> CustomStore.Methods {
    let data = UserData(pointer: userData)
    let read = m.read!, write = m.write!, remove = m.remove!
    var methods = CustomStore.Methods(
        read: { (key) throws(BotSessionError) in
            try withCString(key.bytes) { (k) throws(BotSessionError) in
                try callFilling("the custom store's read callback for key \(key)") { read(data.pointer, k, $0) }
            }
        },
        write: { (key, value) throws(BotSessionError) in
            try invokeCallback("the custom store's write callback for key \(key)") {
                withCString(key.bytes) { k in withCString(value.bytes) { v in write(data.pointer, k, v) } }
            }
        },
        delete: { (key) throws(BotSessionError) in
            try invokeCallback("the custom store's remove callback for key \(key)") {
                withCString(key.bytes) { remove(data.pointer, $0) }
            }
        })
    if let has = m.has {
        methods.has = { (key) throws(BotSessionError) in
            var exists: Int32 = 0
            try invokeCallback("the custom store's has callback for key \(key)") {
                withCString(key.bytes) { has(data.pointer, $0, &exists) }
            }
            return exists != 0
        }
    }
    if let keys = m.keys {
        methods.keys = { (prefix) throws(BotSessionError) in
            try withCString(prefix) { (p) throws(BotSessionError) in
                try callFilling("the custom store's keys callback") { keys(data.pointer, p, $0) }
            } ?? Array("[]".utf8)
        }
    }
    if let release = m.release {
        methods.release = { ForkBarrier.outside { release(data.pointer) } }
    }
    return methods
}
