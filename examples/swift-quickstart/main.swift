import BotSession

let engine = try Engine(json: #"{"initial": {"count": 0}}"#)
try engine.setStore(try SQLiteStore(path: "quickstart.db"))
let update = try engine.begin(update: #"{"message": {"chat": {"id": 42}, "text": "hi"}}"#)
print(try update.get()?.string ?? "none")    // {"count": 0} on the first run
try update.set(nil, JSONText(#"{"count": 1}"#))
try update.commit()
