/// Exact numeric helpers shared by equality, the writers and the schema validator.
@usableFromInline
enum JSONNumber {
    /// 2^63 as a Double (exactly representable).
    static let twoTo63: Double = 9_223_372_036_854_775_808.0

    /// `d` as an `Int64` when it is integral and within range; `-0.0` becomes `0`.
    @usableFromInline
    static func exactInt64(_ d: Double) -> Int64? {
        guard d.isFinite, d.rounded(.towardZero) == d, d >= -twoTo63, d < twoTo63 else { return nil }
        return Int64(d)
    }

    /// Exact three-way comparison of an integer with a double: -1, 0 or 1 (`nil` for NaN).
    static func compare(int a: Int64, double b: Double) -> Int? {
        if b.isNaN { return nil }
        if b >= twoTo63 { return -1 }
        if b < -twoTo63 { return 1 }
        let t = b.rounded(.towardZero)
        let ti = Int64(t)
        if a < ti { return -1 }
        if a > ti { return 1 }
        let fraction = b - t
        return fraction > 0 ? -1 : (fraction < 0 ? 1 : 0)
    }

    /// Exact three-way comparison of two numbers: -1, 0 or 1 (`nil` if either is not a number or is NaN).
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return nil }
            return x < y ? -1 : (x > y ? 1 : 0)
        case (.int(let x), .double(let y)): return compare(int: x, double: y)
        case (.double(let x), .int(let y)): return compare(int: y, double: x).map { -$0 }
        default: return nil
        }
    }

    /// A number as sign, decimal mantissa and power of ten, using the shortest round-trip digits of doubles.
    struct Decimal {
        var negative: Bool
        var mantissa: UInt64
        var exponent: Int
    }

    static func decimal(_ v: JSONValue) -> Decimal? {
        switch v {
        case .int(let i):
            var d = Decimal(negative: i < 0, mantissa: i.magnitude, exponent: 0)
            d.stripTrailingZeros()
            return d
        case .double(let x):
            guard x.isFinite else { return nil }
            return decimal(ofDescription: x.description)
        default:
            return nil
        }
    }

    /// Parses Swift's `Double.description` ("1.5", "7.5e-05", "1e+20", "-0.0") into a decimal.
    static func decimal(ofDescription text: String) -> Decimal? {
        var negative = false
        var mantissa: UInt64 = 0
        var exponent = 0
        var afterPoint = false
        var digits = 0
        var iterator = text.utf8.makeIterator()
        var expText: [UInt8] = []
        while let c = iterator.next() {
            switch c {
            case UInt8(ascii: "-"): negative = true
            case UInt8(ascii: "."): afterPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if mantissa == 0 && c == UInt8(ascii: "0") {
                    if afterPoint { exponent -= 1 }
                    continue
                }
                guard digits < 19 else { return nil }
                mantissa = mantissa * 10 + UInt64(c - UInt8(ascii: "0"))
                digits += 1
                if afterPoint { exponent -= 1 }
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                while let e = iterator.next() { expText.append(e) }
            default:
                return nil
            }
        }
        if !expText.isEmpty {
            guard let e = Int(String(decoding: expText, as: UTF8.self)) else { return nil }
            exponent += e
        }
        var d = Decimal(negative: negative, mantissa: mantissa, exponent: exponent)
        d.stripTrailingZeros()
        return d
    }

    /// Whether `value` is an integer multiple of `divisor` (> 0), exactly in decimal.
    static func isMultiple(_ value: JSONValue, of divisor: JSONValue) -> Bool {
        if case .int(let x) = value, case .int(let y) = divisor, y > 0 {
            return x % y == 0
        }
        guard let x = decimal(value), let y = decimal(divisor), y.mantissa != 0 else { return false }
        if x.mantissa == 0 { return true }
        // value / divisor = (mx / my) * 10^(ex - ey)
        let k = x.exponent - y.exponent
        if k >= 0 {
            // Need my / gcd(mx, my) to divide 10^k: only factors 2 and 5, each at most k times.
            var rest = y.mantissa / gcd(x.mantissa, y.mantissa)
            var twos = 0
            var fives = 0
            while rest % 2 == 0 {
                rest /= 2
                twos += 1
            }
            while rest % 5 == 0 {
                rest /= 5
                fives += 1
            }
            return rest == 1 && twos <= k && fives <= k
        }
        // Need my * 10^(-k) to divide mx.
        var d = y.mantissa
        for _ in 0..<(-k) {
            let (m, overflow) = d.multipliedReportingOverflow(by: 10)
            if overflow { return false }  // larger than any mantissa, and mx != 0
            d = m
        }
        return x.mantissa % d == 0
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    // MARK: Formatting

    /// Appends the decimal digits of `i`.
    static func write(_ i: Int64, into out: inout [UInt8]) {
        if i == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = i.magnitude
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, enough for 20 digits
        withUnsafeMutableBytes(of: &buffer) { raw in
            var n = 0
            while magnitude > 0 {
                raw[23 - n] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                n += 1
            }
            out.append(contentsOf: raw[(24 - n)...])
        }
    }

    /// Appends `d` in shortest round-trip form with a normalised exponent (`1e-7`, `1.5e300`).
    /// When `integralAsInteger` is set, integral values in the `Int64` range are written as integers, except `-0`,
    /// which keeps its sign (`-0.0`): a tool may tell it from `0` (`atan2(0, -0.0)` is π).
    /// Non-finite values (which the parser never produces) are written as `null`.
    static func write(_ d: Double, integralAsInteger: Bool, into out: inout [UInt8]) {
        guard d.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if integralAsInteger, !(d == 0 && d.sign == .minus), let i = exactInt64(d) {
            write(i, into: &out)
            return
        }
        var text = d.description
        if let e = text.utf8.firstIndex(of: UInt8(ascii: "e")) {
            let mantissa = text[..<e]
            var exponent = text.utf8[text.utf8.index(after: e)...]
            var sign = ""
            if let first = exponent.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                if first == UInt8(ascii: "-") { sign = "-" }
                exponent = exponent.dropFirst()
            }
            while exponent.count > 1, exponent.first == UInt8(ascii: "0") { exponent = exponent.dropFirst() }
            text = String(mantissa) + "e" + sign + String(decoding: exponent, as: UTF8.self)
        }
        out.append(contentsOf: text.utf8)
    }
}

extension JSONNumber.Decimal {
    mutating func stripTrailingZeros() {
        if mantissa == 0 {
            exponent = 0
            return
        }
        while mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
    }
}
