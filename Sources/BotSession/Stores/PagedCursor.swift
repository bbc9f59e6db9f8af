/// Key iteration a page at a time, in key order (keyset pagination): for database stores, so a
/// large table is never held in memory and no read transaction stays open between calls.
final class PagedCursor: StoreCursor {
    typealias Page = [(key: [UInt8], value: [UInt8])]

    private let store: any SessionStore
    private let pageSize: Int
    /// The entries after `after` (nil: from the start), at most `pageSize` of them.
    private let fetch: ([UInt8]?) throws(BotSessionError) -> Page
    private var buffered: Page = []
    private var position = 0
    private var lastKey: [UInt8]?
    private var exhausted = false

    init(store: any SessionStore, pageSize: Int, fetch: @escaping ([UInt8]?) throws(BotSessionError) -> Page) {
        self.store = store
        self.pageSize = pageSize
        self.fetch = fetch
    }

    func next() throws(BotSessionError) -> (key: SessionKey, value: JSONText)? {
        while true {
            if position < buffered.count {
                let row = buffered[position]
                position += 1
                let key = try SessionKey(validating: row.key, what: "a key in \(store.identity)")
                return (key, try JSONText(validating: row.value, what: "the value stored under key \(key) in \(store.identity)"))
            }
            if exhausted { return nil }
            buffered = try fetch(lastKey)
            position = 0
            lastKey = buffered.last?.key ?? lastKey
            if buffered.count < pageSize { exhausted = true }
            if buffered.isEmpty { return nil }
        }
    }
}
