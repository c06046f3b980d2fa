/// A phone number in E.164 form (`+8613800138000`).
///
/// The value is personal information. `description` and `debugDescription` are redacted so that a
/// phone number interpolated into a log line or an error by mistake prints nothing (ACC-11, CON-03).
/// Read ``e164`` explicitly where the number itself is needed (encryption, blind index, SMS gateway).
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The number in E.164 form: `+`, country code, subscriber number; 8 to 15 digits.
    public let e164: String

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
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var sawPlus = false
        var sawAnything = false
        for scalar in input.unicodeScalars {
            switch scalar {
            case "0"..."9":
                digits.append(UInt8(scalar.value - 48))
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
        if digits.isEmpty { return .failure(sawPlus ? .tooShort : .empty) }
        if digits.count > 17 { return .failure(.tooLong) }

        var international: [UInt8]
        if sawPlus {
            international = digits
        } else if digits.count > 2, digits[0] == 0, digits[1] == 0 {
            international = Array(digits.dropFirst(2))
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

    private static func validateInternational(_ digits: [UInt8]) -> Result<PhoneNumber, ParseFailure> {
        if digits.count < 8 { return .failure(.tooShort) }
        if digits.count > 15 { return .failure(.tooLong) }
        guard digits[0] != 0 else { return .failure(.unknownCountryCode) }
        if let region = Region.matching(international: digits), !region.accepts(international: digits) {
            return .failure(.invalidForRegion)
        }
        var text = "+"
        text.unicodeScalars.append(contentsOf: digits.map { Unicode.Scalar($0 + 48) })
        return .success(PhoneNumber(e164: text))
    }

    private init(e164: String) { self.e164 = e164 }
}

extension PhoneNumber {
    /// A numbering region: its country calling code, trunk prefix and subscriber-number lengths.
    ///
    /// Only the rules needed to turn national forms into E.164 are modelled; full carrier validation
    /// belongs to the SMS provider.
    public struct Region: Hashable, Sendable {
        public let code: String
        let countryCode: [UInt8]
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
            self.countryCode = countryCode
            self.trunkPrefix = trunkPrefix
            self.nationalLengths = nationalLengths
        }

        static func matching(international digits: [UInt8]) -> Region? {
            all.first { digits.starts(with: $0.countryCode) }
        }

        func accepts(international digits: [UInt8]) -> Bool {
            let national = digits.dropFirst(countryCode.count)
            guard let first = national.first else { return false }
            if let trunkPrefix, first == trunkPrefix { return false }
            if self == .cn, first == 1, national.dropFirst().first != 0 {
                return national.count == 11  // mobile numbers: 1xx xxxx xxxx (area code 10 is Beijing)
            }
            return nationalLengths.contains(national.count)
        }

        /// Turns a national form into international digits (country code + national number).
        func nationalToInternational(_ digits: [UInt8]) -> [UInt8]? {
            var national = digits[...]
            if let trunkPrefix, national.first == trunkPrefix {
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
