#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import BotSession

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Writes every session as JSON Lines, {\"key\": ..., \"value\": ...}, the stored text as it is.",
        discussion: "With --enhanced the values are unwrapped and expired sessions left out; without, an enhancer's wrapper is kept, so nothing is lost.")

    @OptionGroup var store: StoreArguments
    @Option(help: "Only keys that start with this.") var prefix: String?
    @OptionGroup var enhancer: EnhancerArguments
    @OptionGroup var quiet: QuietArgument

    func run() throws {
        let base = try store.open()
        let view = enhancer.view(base)
        let progress = Progress("export", quiet: quiet.quiet)
        try entries(base, prefix: prefix, progress: progress) { (key, raw) throws(CommandFailure) in
            var value = raw
            if let view {
                let inspected = try doing("cannot read key \(key)") { () throws(BotSessionError) in try view.inspect(key, raw) }
                if inspected.expired { return }
                value = inspected.data
            }
            Output.line(DumpLine.format(key: key, value: value))
        }
        progress.finish()
    }
}

/// Where `import` and `copy` write, and how: the rules they share.
struct WriteRules: ParsableArguments {
    @Flag(help: "Replace keys that exist (by default they are skipped).") var overwrite = false
    @Flag(name: .customLong("dry-run"), help: "Report what would be done; write nothing.") var dryRun = false
}

/// Writes `entries` into `store`: a key that exists is skipped unless `overwrite`, and all the
/// writes are one commit (one transaction in SQLite and PostgreSQL), compare-and-set against
/// what was read, so a concurrent writer makes it fail (CONFLICT) with nothing written.
func load(_ entries: [(key: SessionKey, value: JSONText)], into store: any SessionStore, rules: WriteRules,
          quiet: Bool, label: String) throws(CommandFailure) {
    var changes: [StoreChange] = []
    var skipped = 0, replaced = 0
    let progress = Progress(label, total: entries.count, quiet: quiet)
    for (key, value) in entries {
        let found = try doing("cannot read key \(key) in \(store.identity)") { () throws(BotSessionError) in try store.read(key) }
        progress.advance()
        if let found, !found.text.isNull {
            guard rules.overwrite else { skipped += 1; continue }
            if found.text.bytes == value.bytes { skipped += 1; continue }
            replaced += 1
        }
        changes.append(.write(key, value, expecting: Expectation(read: found)))
    }
    progress.finish()
    if !rules.dryRun && !changes.isEmpty {
        try doing("\(label) wrote nothing") { () throws(BotSessionError) in try store.commit(changes) }
    }
    if !quiet {
        let verb = rules.dryRun ? "would write" : "wrote"
        var summary = "\(label): \(verb) \(changes.count) session\(changes.count == 1 ? "" : "s")"
        if replaced > 0 { summary += " (\(replaced) replaced)" }
        summary += ", skipped \(skipped)"
        if skipped > 0 { summary += rules.overwrite ? " (unchanged)" : " (the key exists; --overwrite replaces)" }
        Output.error(summary)
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reads JSON Lines from standard input (what export writes) into the store.",
        discussion: "Every line is checked before anything is written: a bad line (named by its number) imports nothing.")

    @OptionGroup var store: StoreArguments
    @OptionGroup var rules: WriteRules
    @OptionGroup var quiet: QuietArgument

    func run() throws {
        let target = try store.open()
        var parsed: [(key: SessionKey, value: JSONText)] = []
        var lineOf: [SessionKey: Int] = [:]
        let input = Output.readStandardInput()
        var number = 0
        for rawLine in input.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            var bytes = Array(rawLine)
            if bytes.last == 0x0D { bytes.removeLast() }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let entry: (key: SessionKey, value: JSONText)
            do {
                entry = try DumpLine.parse(bytes)
            } catch {
                throw CommandFailure(.badInput, "line \(number) of the input: \(error.message); nothing was imported")
            }
            if let first = lineOf[entry.key] {
                throw CommandFailure(.badInput, "line \(number) of the input: key \(entry.key) is on line \(first) too; nothing was imported")
            }
            lineOf[entry.key] = number
            parsed.append(entry)
        }
        try load(parsed, into: target, rules: rules, quiet: quiet.quiet, label: "import")
    }
}

struct Copy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copies sessions from one store to another (sqlite: to postgresql:, ...), the stored text as it is.")

    @Argument(help: "The store to copy from.") var source: String
    @Argument(help: "The store to copy to.") var destination: String
    @Option(help: "Only keys that start with this.") var prefix: String?
    @Option(name: .customLong("from-options"), help: ArgumentHelp("The source store's options (JSON).", valueName: "json"))
    var fromOptions: String?
    @Option(name: .customLong("to-options"), help: ArgumentHelp("The destination store's options (JSON).", valueName: "json"))
    var toOptions: String?
    @OptionGroup var rules: WriteRules
    @OptionGroup var quiet: QuietArgument

    func run() throws {
        let from = try StoreArguments.open(source, fromOptions)
        let to = try StoreArguments.open(destination, toOptions)
        if from.identity == to.identity {
            throw CommandFailure(.usage, "\(source) and \(destination) are the same store (\(from.identity))")
        }
        var all: [(key: SessionKey, value: JSONText)] = []
        try entries(from, prefix: prefix, progress: Progress("reading", quiet: quiet.quiet)) { (key, value) throws(CommandFailure) in
            all.append((key, value))
        }
        try load(all, into: to, rules: rules, quiet: quiet.quiet, label: "copy")
    }
}
