import BotSession

/// The sink behind a `botsession_buffer *`: a callback hands its result back by copying it in
/// with `botsession_buffer_set`. It lives on the caller's side for the duration of one callback.
final class CallbackBuffer {
    /// nil until the callback sets it: "unset" means absent / no key.
    var bytes: [UInt8]?

    /// Runs `body` with this buffer as a C handle.
    func withHandle<T>(_ body: (OpaquePointer) -> T) -> T {
        withTemporaryHandle(.buffer, self, body)
    }
}

@_cdecl("botsession_buffer_set")
public func botsession_buffer_set_c(_ buffer: OpaquePointer?, _ data: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
    call { () throws(BotSessionError) in
        let sink = try object(buffer, .buffer, as: CallbackBuffer.self, "buf")
        guard length >= 0 else { throw misuse("len is negative") }
        if length == 0 {
            sink.bytes = []
            return
        }
        guard let data else { throw misuse("data is NULL but len is \(length)") }
        sink.bytes = Array(UnsafeRawBufferPointer(start: data, count: length))
    }
}
