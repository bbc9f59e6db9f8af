import Dispatch
import Testing

@testable import BotSession

/// SPEC §8 in one process: updates of one key are serialised, so no increment is lost.
@Suite struct ConcurrencyTests {
    static let update = "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":1,\"type\":\"private\"}}}"

    /// `threads` workers increment one counter `times` times each through one engine.
    func increment(store: any SessionStore, threads: Int, times: Int) throws -> Int {
        let engine = try Engine(json: "{\"initial\": 0}")
        try engine.setStore(store, fragment: nil)
        nonisolated(unsafe) var failures: [BotSessionError] = []
        let failureLock = PThreadMutex()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<times {
                do throws(BotSessionError) {
                    let u = try engine.begin(update: ConcurrencyTests.update)
                    let n = Int(try u.get()!.string)!
                    try u.set(nil, JSONText(String(n + 1)))
                    try u.commit()
                } catch {
                    failureLock.withLock { failures.append(error) }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.first.map(String.init(describing:)) ?? "")")
        return Int(try store.read(SessionKey("1"))!.text.string)!
    }

    @Test func memoryStoreLosesNoIncrement() throws {
        #expect(try increment(store: MemoryStore(), threads: 8, times: 1000) == 8000)
    }

    @Test func sqliteStoreLosesNoIncrement() throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        #expect(try increment(store: SQLiteStore(path: "\(dir)/c.db"), threads: 8, times: 500) == 4000)
    }

    @Test func idleKeysHoldNoLock() throws {
        let engine = try Engine(json: "{\"key\": \"user\"}")
        for i in 0..<500 {
            let u = try engine.begin(update: "{\"message\":{\"chat\":{\"id\":1},\"from\":{\"id\":\(i + 1_000_000)}}}")
            try u.commit()
        }
        // Other tests run in parallel and may hold a few keys; none of ours stays.
        #expect(KeyLocks.shared.activeCount < 50)
    }

    @Test func lockTimeoutGivesBusy() throws {
        let engine = try Engine(json: "{\"lock_timeout_ms\": 30}")
        let first = try engine.begin(update: ConcurrencyTests.update)
        do {
            _ = try engine.begin(update: ConcurrencyTests.update)
            Issue.record("a second begin on a held key succeeded")
        } catch {
            #expect(error.status == .busy)
            #expect(error.message.contains("timed out after 30 ms"))
        }
        first.rollback()
        try engine.begin(update: ConcurrencyTests.update).rollback()
    }

    @Test func waiterGetsTheKeyWhenItIsReleased() throws {
        let engine = try Engine(json: "{\"lock_timeout_ms\": 5000, \"initial\": 0}")
        let first = try engine.begin(update: ConcurrencyTests.update)
        try first.set(nil, JSONText("41"))
        nonisolated(unsafe) var seen: String?
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let second = try? engine.begin(update: ConcurrencyTests.update)
            seen = (try? second?.get())??.string
            second?.rollback()
            done.signal()
        }
        try first.commit()
        done.wait()
        // The waiter ran after the commit and saw its value.
        #expect(seen == "41")
    }
}
