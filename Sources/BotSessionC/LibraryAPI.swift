import BotSession
import CBotSessionABI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Library-wide functions: versions, status names, error messages, freeing.

private let versionText: StaticString = "0.1.0"
private let emptyText: StaticString = ""
private let unknownStatus: StaticString = "BOTSESSION_UNKNOWN"

/// The status names (`Status.name`) as C strings, made once and kept for the process's life.
nonisolated(unsafe) private let statusNames: [UnsafePointer<CChar>] = Status.allCases.map { UnsafePointer(strdup($0.name)!) }

private func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("botsession_version")
public func botsession_version_c() -> UnsafePointer<CChar> {
    cString(versionText)
}

@_cdecl("botsession_version_number")
public func botsession_version_number_c() -> Int32 {
    BOTSESSION_VERSION_NUMBER
}

@_cdecl("botsession_status_name")
public func botsession_status_name_c(_ status: Int32) -> UnsafePointer<CChar> {
    guard let known = Status(rawValue: status) else { return cString(unknownStatus) }
    return statusNames[Int(known.rawValue)]
}

@_cdecl("botsession_last_error")
public func botsession_last_error_c() -> UnsafePointer<CChar> {
    lastError.current ?? cString(emptyText)
}

@_cdecl("botsession_free")
public func botsession_free_c(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

@_cdecl("botsession_callback_error")
public func botsession_callback_error_c(_ message: UnsafePointer<CChar>?) {
    callbackMessage.set(cString: message)
}

@_cdecl("botsession_thread_nowait")
public func botsession_thread_nowait_c(_ on: Int32) -> Int32 {
    ThreadWaiting.set(allowed: on == 0) ? 0 : 1
}
