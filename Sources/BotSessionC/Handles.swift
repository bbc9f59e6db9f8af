import BotSession

/// Handles are retained Swift objects passed to C as opaque pointers: `*_open`/`*_new` retains,
/// `*_close`/`*_free`/`commit`/`rollback` releases. Stores are existentials, so they travel in a
/// box; engines, updates and cursors are classes and travel as themselves.
final class StoreBox {
    let store: any SessionStore
    init(_ store: any SessionStore) { self.store = store }
}

final class CursorBox {
    let cursor: any StoreCursor
    init(_ cursor: any StoreCursor) { self.cursor = cursor }
}

/// Hands `object` to C, retained once.
func handle(_ object: AnyObject) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

/// The object behind a handle, without changing its retain count.
func object<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type, _ name: String) throws(BotSessionError) -> T {
    guard let handle else { throw misuse("\(name) is NULL") }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

/// Drops C's reference to a handle (NULL is a no-op).
func release<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type) {
    guard let handle else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
}

func store(_ handle: OpaquePointer?, _ name: String = "store") throws(BotSessionError) -> any SessionStore {
    try object(handle, as: StoreBox.self, name).store
}
