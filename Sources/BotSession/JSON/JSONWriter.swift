/// JSON text made by the engine (results handed to callers), never from a caller's value.
public enum JSONWriter {
    /// `bytes` (UTF-8) as a JSON string: quotes, backslashes and control characters escaped,
    /// everything else as it is.
    public static func string(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(0x22)
        for b in bytes {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x09: out += [0x5C, 0x74]
            case 0x0D: out += [0x5C, 0x72]
            case ..<0x20: out += Array("\\u00".utf8) + [Bytes.hexDigit(b >> 4), Bytes.hexDigit(b & 15)]
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}
