#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A progress bar on stderr for long work (rate, done/total, ETA), drawn only when stderr is a
/// terminal and `--quiet` is not given, at most ten times a second.
final class Progress {
    private let label: String
    private var total: Int?
    private let enabled: Bool
    private let started = Progress.seconds()
    private var lastDrawn = 0.0
    private(set) var done = 0

    init(_ label: String, total: Int? = nil, quiet: Bool) {
        self.label = label
        self.total = total
        enabled = !quiet && isatty(2) == 1
    }

    func advance(_ n: Int = 1) {
        done += n
        guard enabled else { return }
        let now = Progress.seconds()
        if now - lastDrawn >= 0.1 {
            lastDrawn = now
            draw(now)
        }
    }

    /// The last figures, and the line ended.
    func finish() {
        guard enabled else { return }
        draw(Progress.seconds())
        Output.writeError([0x0A])
    }

    private func draw(_ now: Double) {
        let elapsed = max(now - started, 1e-6)
        let rate = Double(done) / elapsed
        var line = "\r\(label) "
        if let total, total > 0 {
            let width = 30
            let filled = min(width, done * width / total)
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += "\(done)/\(total)"
            let eta = rate > 0 ? Double(total - done) / rate : 0
            line += "  \(Int(rate))/s  ETA \(Int(eta.rounded(.up)))s"
        } else {
            line += "\(done)  \(Int(rate))/s"
        }
        Output.writeError(Array((line + "\u{1B}[K").utf8))
    }

    private static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
