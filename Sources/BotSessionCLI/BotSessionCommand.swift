#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import BotSession

/// `botsession`: look inside a store, export, import and copy it, purge expired sessions.
@main
struct BotSessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "botsession",
        abstract: "Inspect and move BotSession stores (sqlite:, postgresql://, file:).",
        discussion: """
            Exit codes: 0 done; 1 key not found (get, delete); 2 usage; 3 store error (STORAGE, \
            BUSY, CONFLICT); 4 bad input (invalid JSON, options, sizes, URIs, dump lines); \
            5 stored data that cannot be migrated.
            """,
        version: botSessionVersion,
        subcommands: [Stats.self, Keys.self, Get.self, Set.self, Delete.self, Export.self, Import.self,
                      Copy.self, PurgeExpired.self])

    /// Parses and runs, with the exit codes above: argument-parser's usage errors are 2, not
    /// its default 64, and every failure is one line on stderr.
    static func main() {
        if CommandLine.arguments.count < 2 {
            // No subcommand: the overview, as a usage error (as `git` does), not a success.
            Output.writeError(Array((helpMessage() + "\n").utf8))
            Glibc.exit(ExitCode32.usage.rawValue)
        }
        do {
            var command = try parseAsRoot(NegativeNumbers.protect(Array(CommandLine.arguments.dropFirst())))
            try command.run()
            Output.flush()
            Glibc.exit(0)
        } catch let failure as CommandFailure {
            Output.flush()
            Output.error(failure.message)
            Glibc.exit(failure.code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Output.line(fullMessage(for: error))   // --help, --version
                Output.flush()
                Glibc.exit(0)
            }
            Output.error(fullMessage(for: error))
            Glibc.exit(ExitCode32.usage.rawValue)
        }
    }
}

/// Telegram's group ids are negative, so keys such as `-1001234` are common, and an argument
/// parser takes `-1001234` for an option. Arguments that look like negative numbers are marked
/// before parsing and unmarked where keys, JSON values and prefixes are read (`restore`), so
/// `botsession get sqlite:bot.db -1001234` works as `... -- -1001234` does.
enum NegativeNumbers {
    private static let mark = "\u{7F}"

    static func protect(_ arguments: [String]) -> [String] {
        var afterTerminator = false
        return arguments.map { argument in
            if argument == "--" { afterTerminator = true }
            guard !afterTerminator, argument.utf8.count >= 2, argument.utf8.first == 0x2D,
                  let second = argument.utf8.dropFirst().first, second >= 0x30 && second <= 0x39 else { return argument }
            return mark + argument
        }
    }

    static func restore(_ text: String) -> String {
        text.hasPrefix(mark) ? String(text.dropFirst()) : text
    }
}
