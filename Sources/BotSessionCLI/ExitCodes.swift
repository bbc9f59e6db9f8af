import BotSession

/// The command's exit codes (README, "Operating a store").
enum ExitCode32: Int32 {
    case ok = 0
    /// `get` or `delete` of a key that has no session.
    case notFound = 1
    /// Bad arguments (argument-parser errors included: 2, not its default 64).
    case usage = 2
    /// The store failed: STORAGE, BUSY, CONFLICT, PARTIAL, CALLBACK.
    case store = 3
    /// Bad input: INVALID_JSON, INVALID_OPTION, TOO_BIG, an unknown URI scheme, a bad dump line.
    case badInput = 4
    /// Stored data the enhancer cannot read (MIGRATION).
    case migration = 5
}

/// A failure the command reports: a message for stderr and the exit code.
struct CommandFailure: Error {
    let code: ExitCode32
    let message: String

    init(_ code: ExitCode32, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A library error, with what the command was doing in front.
    init(_ error: BotSessionError, _ doing: String) {
        switch error.status {
        case .invalidJSON, .invalidOption, .tooBig, .misuse, .noKey: code = .badInput
        case .migration: code = .migration
        default: code = .store
        }
        message = "\(doing): \(error.message)"
    }
}

/// Runs `body`, turning a library error into a CommandFailure that says what was being done.
func doing<T>(_ what: @autoclosure () -> String, _ body: () throws(BotSessionError) -> T) throws(CommandFailure) -> T {
    do {
        return try body()
    } catch {
        throw CommandFailure(error, what())
    }
}
