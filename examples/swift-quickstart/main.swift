import BotSession

// One SQLite file; each chat's session is a number, 0 until the first update.
let engine = try Engine(json: #"{"initial": 0}"#)
try engine.setStore(try SQLiteStore(path: "quickstart.db"))

// The handler runs between begin and commit; a throw rolls back.
let count = try engine.update(#"{"message": {"chat": {"id": 42}, "text": "hi"}}"#) { session in
    let count = Int(try session.get()?.string ?? "0") ?? 0
    try session.set(JSONText("\(count + 1)"))
    return count + 1
}
print("chat 42 has sent \(count) updates")  // 1 on the first run, one more on each after
