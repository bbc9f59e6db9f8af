/// The outcome of an operation, as the C API reports it.
///
/// The raw values are the numbers of the C header's `BOTSESSION_*` constants; they are part of
/// the ABI and never change once released.
public enum Status: Int32, Sendable, CaseIterable {
    case ok = 0
    /// A failure that fits no other status, or an operation the store cannot do.
    case error = 1
    /// A caller's mistake: NULL argument, handle in the wrong state, unknown fragment.
    case misuse = 2
    case invalidJSON = 3
    case invalidOption = 4
    /// Session data touched for an update that has no session key.
    case noKey = 5
    /// I/O or database failure, store unreachable.
    case storage = 6
    /// A concurrent writer won; re-run the handler.
    case conflict = 7
    case tooBig = 8
    /// A user callback failed.
    case callback = 9
    /// Stored data cannot be migrated.
    case migration = 10
    /// Timed out waiting for a lock.
    case busy = 11
    /// A commit failed after some of its stores were written (SPEC §5): the message names what
    /// was and was not written. Never re-run the handler: its change would apply twice.
    case partial = 12

    /// The C constant's name, such as `BOTSESSION_NO_KEY`.
    public var name: String {
        switch self {
        case .ok: "BOTSESSION_OK"
        case .error: "BOTSESSION_ERROR"
        case .misuse: "BOTSESSION_MISUSE"
        case .invalidJSON: "BOTSESSION_INVALID_JSON"
        case .invalidOption: "BOTSESSION_INVALID_OPTION"
        case .noKey: "BOTSESSION_NO_KEY"
        case .storage: "BOTSESSION_STORAGE"
        case .conflict: "BOTSESSION_CONFLICT"
        case .tooBig: "BOTSESSION_TOO_BIG"
        case .callback: "BOTSESSION_CALLBACK"
        case .migration: "BOTSESSION_MIGRATION"
        case .busy: "BOTSESSION_BUSY"
        case .partial: "BOTSESSION_PARTIAL"
        }
    }
}

/// Every failure of the engine: a status and a message that says what was wrong and what to do.
///
/// The engine never traps on bad input; it throws this instead.
public struct BotSessionError: Error, Sendable, CustomStringConvertible {
    public let status: Status
    public let message: String

    public init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.name): \(message)" }

    /// The same failure with `context` in front of the message ("fragment 'user': ...").
    func prefixed(_ context: String) -> BotSessionError {
        BotSessionError(status, "\(context): \(message)")
    }
}
