/// Numbers written the way JavaScript's `String(number)` writes them (ECMAScript
/// Number::toString), so that a key made from a numeric id is the key grammY makes:
/// `1e16` is `"10000000000000000"`, `12345678901234567890` is `"12345678901234567000"`,
/// `1.50` is `"1.5"`, `1e-7` is `"1e-7"`.
enum JSNumber {
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return "0" }
        // Swift's description gives the shortest digits that round-trip, as JavaScript does;
        // only the layout differs. Take it apart into digits and a decimal exponent.
        let text = String(value.magnitude)
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = Array(parts[0].utf8)
        let exponent = parts.count > 1 ? Int(parts[1])! : 0
        var digits = mantissa.filter { $0 != 0x2E }
        var point = mantissa.firstIndex(of: 0x2E) ?? mantissa.count
        while digits.first == 0x30 {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == 0x30 { digits.removeLast() }
        // value = 0.d1d2...dk × 10^n
        let k = digits.count
        let n = point + exponent
        let d = String(decoding: digits, as: UTF8.self)
        let sign = value < 0 ? "-" : ""
        if k <= n && n <= 21 {
            return sign + d + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            return sign + String(d.prefix(n)) + "." + String(d.dropFirst(n))
        }
        if -6 < n && n <= 0 {
            return sign + "0." + String(repeating: "0", count: -n) + d
        }
        let e = n - 1
        let exponentText = "e" + (e < 0 ? "-" : "+") + String(e.magnitude)
        return sign + String(d.prefix(1)) + (k > 1 ? "." + String(d.dropFirst()) : "") + exponentText
    }
}
