import ArgumentParser
import BotSession

struct Set: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stores JSON under a key.",
        discussion: """
            With --enhanced the value is wrapped as grammY's enhancer stores it. The command never \
            changes a session's version: it keeps the "v" the stored wrapper has, and a new session \
            needs --version V (the version of the bot's latest migration, so the bot reads it \
            unchanged) or --version none (a bot without migrations).
            """)

    @OptionGroup var store: StoreArguments
    @Argument(help: "The key.") var key: String
    @Argument(help: "The JSON value.") var json: String
    @OptionGroup var enhancer: EnhancerArguments
    @Option(help: ArgumentHelp("With --enhanced, for a new session: its version (a number), or none.", valueName: "V"))
    var version: String?

    func validate() throws {
        if version != nil && !enhancer.enhanced { throw ValidationError("--version needs --enhanced") }
        if let version, version != "none", Double(version) == nil || !Double(version)!.isFinite {
            throw ValidationError("--version must be a number (the bot's latest migration version) or none, not \(version)")
        }
    }

    func run() throws {
        let base = try store.open()
        let k = try BotSessionCLI.key(key)
        let value = try doing("the value is not valid JSON") { () throws(BotSessionError) in try JSONText(NegativeNumbers.restore(json)) }
        guard let view = enhancer.view(base) else {
            return try doing("cannot write key \(k)") { () throws(BotSessionError) in try base.write(k, value) }
        }
        let found = try doing("cannot read key \(k)") { () throws(BotSessionError) in try base.read(k) }
        let requested: Double?? = version.map { $0 == "none" ? Double?.none : Double($0)! }
        var keep: Double?
        if let found, !found.text.isNull {
            let inspected = try doing("cannot read key \(k)") { () throws(BotSessionError) in try view.inspect(k, found.text) }
            if inspected.hasVersion && inspected.version == nil {
                throw CommandFailure(.migration, "the session under key \(k) has a version that is not a number; it was left as it is")
            }
            keep = inspected.version
            if let requested, requested != keep {
                throw CommandFailure(.usage, "key \(k) holds a session at version \(keep.map { "\($0)" } ?? "none"); the command keeps a session's version: leave out --version")
            }
        } else {
            guard let requested else {
                throw CommandFailure(.usage, "key \(k) has no session yet: give its version with --version V (the bot's latest migration) or --version none (a bot without migrations)")
            }
            keep = requested
        }
        let wrapped = view.wrapped(value, version: keep)
        try doing("cannot write key \(k)") { () throws(BotSessionError) in
            try base.commit([.write(k, wrapped, expecting: Expectation(read: found))])
        }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deletes the session under a key (exit 1 when there is none).")

    @OptionGroup var store: StoreArguments
    @Argument(help: "The key.") var key: String

    func run() throws {
        let base = try store.open()
        let k = try BotSessionCLI.key(key)
        let found = try doing("cannot read key \(k)") { () throws(BotSessionError) in try base.read(k) }
        guard let found else { throw CommandFailure(.notFound, "no session under key \(k) in \(base.identity)") }
        try doing("cannot delete key \(k)") { () throws(BotSessionError) in
            try base.commit([.delete(k, expecting: Expectation(read: found))])
        }
    }
}

struct PurgeExpired: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge-expired",
        abstract: "Deletes the sessions whose enhancer expiry (\"e\") has passed, ahead of the bot's reads.")

    @OptionGroup var store: StoreArguments
    @OptionGroup var enhancer: EnhancerArguments
    @Option(help: "Only keys that start with this.") var prefix: String?
    @Flag(name: .customLong("dry-run"), help: "Count what would be deleted; delete nothing.") var dryRun = false
    @OptionGroup var quiet: QuietArgument

    func validate() throws {
        if !enhancer.enhanced { throw ValidationError("purge-expired reads the enhancer's expiry: give --enhanced") }
    }

    func run() throws {
        let base = try store.open()
        let view = EnhancedStore(base, ttlMs: enhancer.ttlMs)
        let now = view.now()
        var expired: [(key: SessionKey, raw: [UInt8])] = []
        let progress = Progress("purge-expired", quiet: quiet.quiet)
        try entries(base, prefix: prefix, progress: progress) { (key, raw) throws(CommandFailure) in
            let inspected = try doing("cannot read key \(key)") { () throws(BotSessionError) in try view.inspect(key, raw) }
            guard let expiresAt = inspected.expiresAt, expiresAt < now else { return }
            expired.append((key, raw.bytes))
        }
        progress.finish()
        if !dryRun && !expired.isEmpty {
            try deleteExpired(base, expired)
        }
        if !quiet.quiet {
            Output.error("purge-expired: \(dryRun ? "would delete" : "deleted") \(expired.count) expired session\(expired.count == 1 ? "" : "s")")
        }
    }

    /// Deletes each expired key unless it changed since the listing (the bot may have just
    /// refreshed it): read again, then a compare-and-set delete of what was read.
    private func deleteExpired(_ base: any SessionStore, _ expired: [(key: SessionKey, raw: [UInt8])]) throws(CommandFailure) {
        for (key, raw) in expired {
            try doing("cannot delete key \(key)") { () throws(BotSessionError) in
                guard let found = try base.read(key), found.text.bytes == raw else { return }
                try base.commit([.delete(key, expecting: Expectation(read: found))])
            }
        }
    }
}
