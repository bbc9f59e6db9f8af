import ArgumentParser
import BotSession

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sessions, bytes, keys by prefix and store facts (with --enhanced: expired sessions too).")

    @OptionGroup var store: StoreArguments
    @OptionGroup var enhancer: EnhancerArguments
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var quiet: QuietArgument

    func run() throws {
        let base = try store.open()
        let view = enhancer.view(base)
        var sessions = 0, bytes = 0, expired = 0
        var prefixes: [String: Int] = [:]
        let progress = Progress("stats", quiet: quiet.quiet)
        try entries(base, prefix: nil, progress: progress) { (key, raw) throws(CommandFailure) in
            if let view {
                let inspected = try doing("cannot read key \(key)") { () throws(BotSessionError) in try view.inspect(key, raw) }
                if inspected.expired { expired += 1; return }
            }
            sessions += 1
            bytes += raw.bytes.count
            prefixes[StatsPrefix.of(key), default: 0] += 1
        }
        progress.finish()
        let facts = storeFacts(base)
        let sortedPrefixes = prefixes.sorted { $0.key < $1.key }
        if json {
            var out = "{\"store\":{" + facts.map { "\(jsonText($0.0)):\(jsonText($0.1))" }.joined(separator: ",") + "}"
            out += ",\"sessions\":\(sessions),\"bytes\":\(bytes)"
            if view != nil { out += ",\"expired\":\(expired)" }
            out += ",\"prefixes\":{" + sortedPrefixes.map { "\(jsonText($0.key)):\($0.value)" }.joined(separator: ",") + "}}"
            Output.line(out)
            return
        }
        for (name, value) in facts { Output.line("\(name): \(value)") }
        Output.line("sessions: \(sessions)" + (view != nil ? " (and \(expired) expired, which purge-expired deletes)" : ""))
        Output.line("bytes: \(bytes) (stored text)")
        for (prefix, n) in sortedPrefixes { Output.line("  \(prefix): \(n)") }
    }

    private func jsonText(_ s: String) -> String { String(decoding: Output.jsonString(Array(s.utf8)), as: UTF8.self) }
}

/// How `stats` groups keys: up to and including the first ":" (`fsm:`, `user:`), else by
/// their kind of key.
enum StatsPrefix {
    static func of(_ key: SessionKey) -> String {
        if let colon = key.bytes.firstIndex(of: 0x3A) {
            return String(decoding: key.bytes[...colon], as: UTF8.self)
        }
        return "(no prefix)"
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The keys, one per line (a key with a control character as a JSON string).")

    @OptionGroup var store: StoreArguments
    @Option(help: "Only keys that start with this.") var prefix: String?
    @OptionGroup var enhancer: EnhancerArguments
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let base = try store.open()
        let listed: any SessionStore = enhancer.view(base) ?? base
        var first = true
        if json { Output.write(Array("[".utf8)) }
        try entries(listed, prefix: prefix) { (key, _) throws(CommandFailure) in
            if json {
                Output.write((first ? [] : [0x2C]) + Output.jsonString(key.bytes))
                first = false
            } else {
                Output.line(Output.keyText(key))
            }
        }
        if json { Output.line("]") }
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prints the JSON stored under a key (exit 1 when there is none).")

    @OptionGroup var store: StoreArguments
    @Argument(help: "The key.") var key: String
    @OptionGroup var enhancer: EnhancerArguments

    func run() throws {
        let base = try store.open()
        let k = try BotSessionCLI.key(key)
        let raw = try doing("cannot read key \(k)") { () throws(BotSessionError) in try base.read(k) }
        guard let raw, !raw.text.isNull else {
            throw CommandFailure(.notFound, "no session under key \(k) in \(base.identity)")
        }
        guard let view = enhancer.view(base) else { return Output.line(raw.text.bytes) }
        let inspected = try doing("cannot read key \(k)") { () throws(BotSessionError) in try view.inspect(k, raw.text) }
        if inspected.expired {
            throw CommandFailure(.notFound, "the session under key \(k) has expired (purge-expired deletes it)")
        }
        Output.line(inspected.data.bytes)
    }
}
