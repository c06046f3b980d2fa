/// A phone number in E.164 form (`+8613800138000`).
///
/// The value is personal information. `description` and `debugDescription` are redacted so that a
/// phone number interpolated into a log line or an error by mistake prints nothing (ACC-11, CON-03).
/// Read ``e164`` explicitly where the number itself is needed (encryption, blind index, SMS gateway).
///
/// The digits are held as one integer and a digit count, so parsing allocates nothing: contact
/// discovery parses thousands of numbers per request and forgets almost all of them (CON-03).
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The digits after `+`, as an integer (E.164 numbers never start with 0).
    private let digits: UInt64
    /// How many digits there are: 8 to 15.
    private let digitCount: UInt8

    /// The number in E.164 form: `+`, country code, subscriber number; 8 to 15 digits.
    public var e164: String {
        String(unsafeUninitializedCapacity: Int(digitCount) + 1) { buffer in
            writeE164(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// The digits after the country code (the national significant number), for the regions Kith models;
    /// `nil` for another country code.
    public var nationalSignificantNumber: String? {
        guard let region = Region.matching(international: Digits(value: digits, count: Int(digitCount))) else {
            return nil
        }
        return String(e164.dropFirst(1 + region.countryCode.count))
    }

    /// Calls `body` with the UTF-8 bytes of ``e164`` in a stack buffer, without making a `String`
    /// (for keyed digests of many numbers).
    public func withE164Bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(byteCount: 16, alignment: 1) { buffer in
            let count = writeE164(into: buffer)
            return try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// Writes `+` and the digits; returns the byte count.
    private func writeE164(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = Int(digitCount)
        buffer[0] = UInt8(ascii: "+")
        var rest = digits
        for position in stride(from: count, through: 1, by: -1) {
            buffer[position] = UInt8(truncatingIfNeeded: rest % 10) + 48
            rest /= 10
        }
        return count + 1
    }

    public var description: String { "PhoneNumber(redacted)" }
    public var debugDescription: String { "PhoneNumber(redacted)" }

    /// Why an input is not a phone number; used in per-entry reports, never echoing the input.
    public enum ParseFailure: String, Error, Sendable, Equatable, Codable {
        case empty = "empty"
        case invalidCharacters = "invalid-characters"
        case tooShort = "too-short"
        case tooLong = "too-long"
        case unknownCountryCode = "unknown-country-code"
        case invalidForRegion = "invalid-for-region"
    }

    /// Normalises a number written in the usual national or international forms.
    ///
    /// Accepted: `+86 138 0013 8000`, `008613800138000`, `86 13800138000`, `138-0013-8000` (with default
    /// region CN), `(010) 6552 9988`, `+1 (415) 555-0100`. Spaces, dashes, dots and parentheses are ignored.
    /// - Parameters:
    ///   - input: What the person or their address book wrote.
    ///   - defaultRegion: The region used for numbers without an international prefix.
    public static func parse(_ input: String, defaultRegion: Region = .cn) -> Result<PhoneNumber, ParseFailure> {
        var value: UInt64 = 0
        var count = 0
        var sawPlus = false
        var sawAnything = false
        for scalar in input.unicodeScalars {
            switch scalar {
            case "0"..."9":
                // More than 17 digits is refused below; stop accumulating before the integer overflows.
                if count < 18 { value = value &* 10 &+ UInt64(scalar.value - 48) }
                count += 1
                sawAnything = true
            case "+":
                if sawAnything || sawPlus { return .failure(.invalidCharacters) }
                sawPlus = true
                sawAnything = true
            case " ", "-", ".", "(", ")", "\u{00A0}", "\t":
                continue
            default:
                return .failure(.invalidCharacters)
            }
        }
        if count == 0 { return .failure(sawPlus ? .tooShort : .empty) }
        if count > 17 { return .failure(.tooLong) }
        let digits = Digits(value: value, count: count)

        let international: Digits
        if sawPlus {
            international = digits
        } else if digits.count > 2, digits.digit(0) == 0, digits.digit(1) == 0 {
            international = digits.dropFirst(2)
        } else if let national = defaultRegion.nationalToInternational(digits) {
            international = national
        } else {
            return .failure(.invalidForRegion)
        }
        return validateInternational(international)
    }

    /// Parses a number that must already be in E.164 form (`+` and digits only).
    public static func parseE164(_ input: String) -> Result<PhoneNumber, ParseFailure> {
        guard input.first == "+" else { return .failure(.invalidCharacters) }
        return parse(input, defaultRegion: .cn)
    }

    private static func validateInternational(_ digits: Digits) -> Result<PhoneNumber, ParseFailure> {
        if digits.count < 8 { return .failure(.tooShort) }
        if digits.count > 15 { return .failure(.tooLong) }
        guard digits.digit(0) != 0 else { return .failure(.unknownCountryCode) }
        if let region = Region.matching(international: digits), !region.accepts(international: digits) {
            return .failure(.invalidForRegion)
        }
        return .success(PhoneNumber(digits: digits.value, digitCount: UInt8(digits.count)))
    }

    private init(digits: UInt64, digitCount: UInt8) {
        self.digits = digits
        self.digitCount = digitCount
    }

    /// A run of up to 19 decimal digits, leading zeros included, as an integer and a count.
    struct Digits: Hashable, Sendable {
        var value: UInt64
        var count: Int

        static let powersOfTen: [UInt64] = (0...19).map { power in (0..<power).reduce(1) { value, _ in value * 10 } }

        var isEmpty: Bool { count == 0 }

        /// The digit at `position` from the left.
        func digit(_ position: Int) -> UInt64 { value / Self.powersOfTen[count - 1 - position] % 10 }

        var first: UInt64? { isEmpty ? nil : digit(0) }

        func dropFirst(_ k: Int = 1) -> Digits {
            let kept = max(0, count - k)
            return Digits(value: value % Self.powersOfTen[kept], count: kept)
        }

        func starts(with prefix: Digits) -> Bool {
            count >= prefix.count && value / Self.powersOfTen[count - prefix.count] == prefix.value
        }

        static func + (lhs: Digits, rhs: Digits) -> Digits {
            Digits(value: lhs.value * powersOfTen[rhs.count] + rhs.value, count: lhs.count + rhs.count)
        }
    }
}

extension PhoneNumber {
    /// A numbering region: its country calling code, trunk prefix and subscriber-number lengths.
    ///
    /// Only the rules needed to turn national forms into E.164 are modelled; full carrier validation
    /// belongs to the SMS provider.
    public struct Region: Hashable, Sendable {
        public let code: String
        let countryCode: PhoneNumber.Digits
        let trunkPrefix: UInt8?
        /// Allowed national significant number lengths (without trunk prefix).
        let nationalLengths: ClosedRange<Int>

        public static let cn = Region(code: "CN", countryCode: [8, 6], trunkPrefix: 0, nationalLengths: 9...11)
        public static let hk = Region(code: "HK", countryCode: [8, 5, 2], trunkPrefix: nil, nationalLengths: 8...8)
        public static let tw = Region(code: "TW", countryCode: [8, 8, 6], trunkPrefix: 0, nationalLengths: 8...9)
        public static let us = Region(code: "US", countryCode: [1], trunkPrefix: 1, nationalLengths: 10...10)
        public static let gb = Region(code: "GB", countryCode: [4, 4], trunkPrefix: 0, nationalLengths: 9...10)
        public static let de = Region(code: "DE", countryCode: [4, 9], trunkPrefix: 0, nationalLengths: 6...13)
        public static let sg = Region(code: "SG", countryCode: [6, 5], trunkPrefix: nil, nationalLengths: 8...8)

        public static let all: [Region] = [.cn, .hk, .tw, .us, .gb, .de, .sg]

        /// Looks a region up by its ISO 3166 code (`CN`, `us`).
        public init?(code: String) {
            guard let region = Region.all.first(where: { $0.code == code.uppercased() }) else { return nil }
            self = region
        }

        private init(code: String, countryCode: [UInt8], trunkPrefix: UInt8?, nationalLengths: ClosedRange<Int>) {
            self.code = code
            self.countryCode = PhoneNumber.Digits(
                value: countryCode.reduce(0) { $0 * 10 + UInt64($1) },
                count: countryCode.count
            )
            self.trunkPrefix = trunkPrefix
            self.nationalLengths = nationalLengths
        }

        static func matching(international digits: PhoneNumber.Digits) -> Region? {
            all.first { digits.starts(with: $0.countryCode) }
        }

        func accepts(international digits: PhoneNumber.Digits) -> Bool {
            let national = digits.dropFirst(countryCode.count)
            guard let first = national.first else { return false }
            if let trunkPrefix, first == UInt64(trunkPrefix) { return false }
            if self == .cn, first == 1, national.dropFirst().first != 0 {
                return national.count == 11  // mobile numbers: 1xx xxxx xxxx (area code 10 is Beijing)
            }
            return nationalLengths.contains(national.count)
        }

        /// Turns a national form into international digits (country code + national number).
        func nationalToInternational(_ digits: PhoneNumber.Digits) -> PhoneNumber.Digits? {
            var national = digits
            if let trunkPrefix, national.first == UInt64(trunkPrefix) {
                national = national.dropFirst()
            }
            if nationalLengths.contains(national.count) {
                let candidate = countryCode + national
                return accepts(international: candidate) ? candidate : nil
            }
            // The country code written without '+' or '00' ("86 138 0013 8000").
            if digits.starts(with: countryCode), accepts(international: digits) { return digits }
            return nil
        }
    }
}
