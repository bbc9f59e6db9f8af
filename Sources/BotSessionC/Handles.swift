import BotSession

/// What a C handle points to: a small box whose first word says what kind of handle it is, then
/// the Swift object (or existential) it stands for, retained by the box.
///
/// `*_open`/`*_new`/`begin` allocate a box; `*_close`/`*_free`/`commit`/`rollback` clear its
/// magic word and free it. Every function that takes a handle loads the first word and compares
/// it with the kind it expects (one load and one compare) before it touches anything else, so a
/// handle of the wrong kind (an engine passed as a store) is MISUSE instead of undefined
/// behaviour, and so, in the common case, is a handle used again after it was released: its word
/// is cleared before the box is freed, and the allocator reuses the first words of freed memory
/// for its own lists. That is detection, not a guarantee (freed memory can be reused for a new
/// box of the same kind), so use after free stays undefined in the header.
struct Handle<Payload> {
    /// A `HandleKind` raw value while the handle is live; `releasedMagic` once it is released.
    var magic: UInt64
    let payload: Payload
}

/// The kinds of handle, by their magic word (eight ASCII letters, so a core dump shows them).
enum HandleKind: UInt64, CaseIterable {
    case store = 0x4253_5354_4F52_4521     // "BSSTORE!"
    case engine = 0x4253_454E_4749_4E45    // "BSENGINE"
    case update = 0x4253_5550_4441_5445    // "BSUPDATE"
    case iterator = 0x4253_4954_4552_2121  // "BSITER!!"
    case buffer = 0x4253_4255_4646_4552    // "BSBUFFER"

    /// The C type's name, for messages.
    var cName: String {
        switch self {
        case .store: "botsession_store"
        case .engine: "botsession_engine"
        case .update: "botsession_update"
        case .iterator: "botsession_iter"
        case .buffer: "botsession_buffer"
        }
    }
}

/// The first word of a released box (until the allocator reuses its memory).
let releasedMagic: UInt64 = 0x4253_4652_4545_4421  // "BSFREED!"

/// Hands `payload` to C as a new handle of `kind`. `type` is explicit: an existential passed as
/// a plain generic argument would be opened, and the box would hold the concrete type instead.
private func handle<P>(_ kind: HandleKind, _ payload: P, as type: P.Type) -> OpaquePointer {
    let box = UnsafeMutablePointer<Handle<P>>.allocate(capacity: 1)
    box.initialize(to: Handle(magic: kind.rawValue, payload: payload))
    return OpaquePointer(box)
}

/// Runs `body` with `payload` as a handle of `kind` that lives only for the call (the buffer a
/// callback fills); the handle is marked released when `body` returns.
func withTemporaryHandle<P: AnyObject, T>(_ kind: HandleKind, _ payload: P, _ body: (OpaquePointer) -> T) -> T {
    var box = Handle(magic: kind.rawValue, payload: payload)
    return withUnsafeMutablePointer(to: &box) { p in
        defer { p.pointee.magic = releasedMagic }
        return body(OpaquePointer(p))
    }
}

/// The handle's box when its first word is `kind`'s magic; MISUSE naming the argument and what it
/// is instead (another kind of handle, a released one, or no BotSession handle at all).
@inline(__always)
func box<P>(_ h: OpaquePointer?, _ kind: HandleKind, as type: P.Type, _ name: String) throws(BotSessionError) -> UnsafeMutablePointer<Handle<P>> {
    guard let h else { throw misuse("\(name) is NULL") }
    let magic = UnsafeRawPointer(h).loadUnaligned(as: UInt64.self)
    guard magic == kind.rawValue else { throw wrongHandle(magic, kind, name) }
    return UnsafeMutablePointer(h)
}

private func wrongHandle(_ magic: UInt64, _ expected: HandleKind, _ name: String) -> BotSessionError {
    let got: String
    if let other = HandleKind(rawValue: magic) {
        got = "got a \(other.cName)"
    } else if magic == releasedMagic {
        got = "got a handle that was already released (closed, freed, committed or rolled back): that is use after free"
    } else {
        got = "got something that is not a BotSession handle (or one already released)"
    }
    return misuse("\(name): expected a \(expected.cName) handle, \(got)")
}

/// The object behind a handle of `kind`, without changing anything.
@inline(__always)
func object<P>(_ h: OpaquePointer?, _ kind: HandleKind, as type: P.Type, _ name: String) throws(BotSessionError) -> P {
    try box(h, kind, as: type, name).pointee.payload
}

/// Releases a handle of `kind`: clears its magic, frees the box and drops C's reference to the
/// object (which goes when its last user does). NULL is a no-op; a handle of another kind is
/// left alone, with the MISUSE message recorded for `botsession_last_error`.
private func release<P>(_ h: OpaquePointer?, _ kind: HandleKind, as type: P.Type, _ name: String) {
    guard h != nil else { return }
    let p: UnsafeMutablePointer<Handle<P>>
    do throws(BotSessionError) {
        p = try box(h, kind, as: type, name)
    } catch {
        _ = report(error)
        return
    }
    p.pointee.magic = releasedMagic
    let payload = p.move().payload
    p.deallocate()
    withExtendedLifetime(payload) {}
}

// Each kind with its payload type, so that a handle is always read as the type it was made with.

func storeHandle(_ store: any SessionStore) -> OpaquePointer { handle(.store, store, as: (any SessionStore).self) }
func engineHandle(_ engine: Engine) -> OpaquePointer { handle(.engine, engine, as: Engine.self) }
func updateHandle(_ update: SessionUpdate) -> OpaquePointer { handle(.update, update, as: SessionUpdate.self) }
func cursorHandle(_ cursor: any StoreCursor) -> OpaquePointer { handle(.iterator, cursor, as: (any StoreCursor).self) }

func releaseStore(_ h: OpaquePointer?) { release(h, .store, as: (any SessionStore).self, "s") }
func releaseEngine(_ h: OpaquePointer?) { release(h, .engine, as: Engine.self, "e") }
func releaseUpdate(_ h: OpaquePointer?) { release(h, .update, as: SessionUpdate.self, "u") }
func releaseCursor(_ h: OpaquePointer?) { release(h, .iterator, as: (any StoreCursor).self, "it") }

func store(_ h: OpaquePointer?, _ name: String = "store") throws(BotSessionError) -> any SessionStore {
    try object(h, .store, as: (any SessionStore).self, name)
}

func engineObject(_ h: OpaquePointer?, _ name: String = "e") throws(BotSessionError) -> Engine {
    try object(h, .engine, as: Engine.self, name)
}

func updateObject(_ h: OpaquePointer?, _ name: String = "u") throws(BotSessionError) -> SessionUpdate {
    try object(h, .update, as: SessionUpdate.self, name)
}

func cursorObject(_ h: OpaquePointer?, _ name: String = "it") throws(BotSessionError) -> any StoreCursor {
    try object(h, .iterator, as: (any StoreCursor).self, name)
}
