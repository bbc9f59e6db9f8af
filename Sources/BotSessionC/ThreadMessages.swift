import BotSession

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A NUL-terminated string per thread, kept in a pthread key so that each thread's copy is freed
/// when the thread ends.
final class ThreadLocalString: @unchecked Sendable {
    private var key = pthread_key_t()

    init() {
        pthread_key_create(&key) { pointer in free(pointer) }
    }

    /// This thread's string, or nil.
    var current: UnsafePointer<CChar>? {
        pthread_getspecific(key).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
    }

    /// Replaces this thread's string with a copy of `bytes` (nil clears it).
    func set(_ bytes: [UInt8]?) {
        let old = pthread_getspecific(key)
        var copy: UnsafeMutableRawPointer?
        if let bytes {
            copy = malloc(bytes.count + 1)
            if let copy {
                bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, byteCount: $0.count) }
                copy.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
            }
        }
        pthread_setspecific(key, copy)
        free(old)
    }

    /// This thread's string as bytes (a copy), or nil.
    var bytes: [UInt8]? {
        current.map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) }
    }

    func set(cString: UnsafePointer<CChar>?) {
        set(cString.map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) })
    }
}

/// The message of each thread's last failure (`botsession_last_error`).
let lastError = ThreadLocalString()

/// What a callback said about its failure (`botsession_callback_error`), per thread.
let callbackMessage = ThreadLocalString()

/// Records `error` as this thread's last failure and returns its status for C.
func report(_ error: BotSessionError) -> Int32 {
    lastError.set(Array(error.message.utf8))
    return error.status.rawValue
}

/// Runs the body of an exported function: OK, or the failure's status with its message recorded.
/// Inside the fork barrier (`ForkBarrier`): a fork() waits until it is done.
@inline(__always)
func call(_ body: () throws(BotSessionError) -> Void) -> Int32 {
    ForkBarrier.enter()
    defer { ForkBarrier.leave() }
    do {
        try body()
        return Status.ok.rawValue
    } catch {
        return report(error)
    }
}

/// Runs the body of an exported function that returns nothing (the free functions) inside the
/// fork barrier.
@inline(__always)
func insideForkBarrier(_ body: () -> Void) {
    ForkBarrier.enter()
    defer { ForkBarrier.leave() }
    body()
}

func misuse(_ message: String) -> BotSessionError {
    BotSessionError(.misuse, message)
}
