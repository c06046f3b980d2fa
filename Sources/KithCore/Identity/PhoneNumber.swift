/// A phone number in E.164 form (`+8613800138000`), read the way Google's libphonenumber reads it.
///
/// The value is personal information. `description` and `debugDescription` are redacted so that a
/// phone number interpolated into a log line or an error by mistake prints nothing (ACC-11, CON-03).
/// Read ``e164`` explicitly where the number itself is needed (encryption, blind index, SMS gateway).
///
/// The digits are held as one integer and a digit count, so a parsed number allocates nothing: contact
/// discovery parses thousands of numbers per request and forgets almost all of them (CON-03).
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The digits after `+`, as an integer (E.164 numbers never start with 0).
    private let digits: UInt64
    /// How many digits there are (libphonenumber's longest valid numbers have 19).
    private let digitCount: UInt8
    /// How many of them are the country code: 1 to 3.
    private let countryCodeCount: UInt8
    /// What the number is for, by libphonenumber's patterns for its region.
    public let type: NumberType

    /// The number in E.164 form: `+`, country code, national significant number.
    public var e164: String {
        String(unsafeUninitializedCapacity: Int(digitCount) + 1) { buffer in
            writeE164(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// The digits after the country code (the national significant number).
    public var nationalSignificantNumber: String? { String(e164.dropFirst(1 + Int(countryCodeCount))) }

    /// Whether a text message can reach the number: libphonenumber calls it mobile, or cannot tell a
    /// mobile from a fixed line in its region (as in the US). Sign-in codes go only to such numbers (ACC-04, ACC-12).
    public var canReceiveSMS: Bool { type == .mobile || type == .fixedLineOrMobile }

    /// Calls `body` with the UTF-8 bytes of ``e164`` in a stack buffer, without making a `String`
    /// (for keyed digests of many numbers).
    public func withE164Bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(byteCount: 24, alignment: 1) { buffer in
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

    public static func == (lhs: PhoneNumber, rhs: PhoneNumber) -> Bool {
        lhs.digits == rhs.digits && lhs.digitCount == rhs.digitCount
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(digits)
        hasher.combine(digitCount)
    }

    /// The libphonenumber metadata release Kith's tables are generated from.
    public static var metadataRelease: String { PhoneMetadata.release }

    private init(digits: UInt64, digitCount: Int, countryCodeCount: Int, type: NumberType) {
        self.digits = digits
        self.digitCount = UInt8(digitCount)
        self.countryCodeCount = UInt8(countryCodeCount)
        self.type = type
    }
}

extension PhoneNumber {
    /// libphonenumber's number types; ``metadataOrder`` is the order of the generated table's columns.
    public enum NumberType: UInt8, Sendable, Codable {
        case fixedLine
        case mobile
        case fixedLineOrMobile
        case tollFree
        case premiumRate
        case sharedCost
        case personalNumber
        case voip
        case pager
        case uan
        case voicemail
        /// A stored number the current metadata no longer recognises.
        case unknown

        static let metadataOrder: [NumberType] = [
            .fixedLine, .mobile, .tollFree, .premiumRate, .sharedCost, .personalNumber, .voip, .pager, .uan, .voicemail,
        ]
        /// The types `getNumberTypeHelper` tries before fixed line and mobile, in its order.
        static let specialOrder: [NumberType] = [
            .premiumRate, .tollFree, .sharedCost, .voip, .personalNumber, .pager, .uan, .voicemail,
        ]

        /// The name libphonenumber gives the type (`MOBILE`, `FIXED_LINE_OR_MOBILE`, …).
        public var libphonenumberName: String {
            switch self {
            case .fixedLine: "FIXED_LINE"
            case .mobile: "MOBILE"
            case .fixedLineOrMobile: "FIXED_LINE_OR_MOBILE"
            case .tollFree: "TOLL_FREE"
            case .premiumRate: "PREMIUM_RATE"
            case .sharedCost: "SHARED_COST"
            case .personalNumber: "PERSONAL_NUMBER"
            case .voip: "VOIP"
            case .pager: "PAGER"
            case .uan: "UAN"
            case .voicemail: "VOICEMAIL"
            case .unknown: "UNKNOWN"
            }
        }
    }

    /// Why an input is not a phone number Kith takes; used in per-entry reports, never echoing the input.
    public enum ParseFailure: String, Error, Sendable, Equatable, Codable {
        case empty = "empty"
        case invalidCharacters = "invalid-characters"
        case tooShort = "too-short"
        case tooLong = "too-long"
        case unknownCountryCode = "unknown-country-code"
        case invalidForRegion = "invalid-for-region"
        /// A valid number no text message can reach (a fixed line, toll-free, premium-rate, …): it cannot be
        /// a Kith account's number.
        case notMobile = "not-mobile"
    }

    /// A numbering region of libphonenumber's metadata (`CN`, `MO`, `JP`, …): decides how a number written
    /// without its country code is read.
    public struct Region: Hashable, Sendable {
        /// The ISO 3166-1 code.
        public let code: String
        let index: Int

        /// Looks a region up by its ISO 3166 code (`CN`, `mo`); every region libphonenumber has.
        public init?(code: String) {
            guard let index = PhoneMetadata.all.byRegion[code.uppercased()] else { return nil }
            self.code = code.uppercased()
            self.index = index
        }

        var metadata: PhoneMetadata { PhoneMetadata.all.records[index] }

        public static let cn = Region(code: "CN")!
        public static let hk = Region(code: "HK")!
        public static let mo = Region(code: "MO")!
        public static let tw = Region(code: "TW")!
        public static let us = Region(code: "US")!
        public static let gb = Region(code: "GB")!
        public static let de = Region(code: "DE")!
        public static let jp = Region(code: "JP")!
        public static let sg = Region(code: "SG")!

        /// Every region of the metadata, by code.
        public static var all: [Region] {
            PhoneMetadata.all.byRegion.keys.sorted().compactMap { Region(code: $0) }
        }
    }

    /// Reads a number as libphonenumber's `parse` and `isValidNumber` do, in every written form: `+86 138 0013
    /// 8000`, `138-0013-8000` and `(010) 6552 9988` with default region CN, `tel:+86-147-3700-6817`
    /// (RFC 3966), full-width digits and signs, any Unicode dash or space, `Tel:` labels, extensions
    /// (dropped, never kept), `+44 (0)20…`, the default region's international dial-out prefixes (`00`,
    /// `011` from the US, `001`/`002` from Hong Kong or Taiwan) and China's carrier and IP-dialling
    /// prefixes (`17951`). Kith also ignores invisible marks (zero-width, bidi, byte-order), which
    /// address books copy in from messages.
    /// - Parameters:
    ///   - input: What the person or their address book wrote.
    ///   - defaultRegion: The region used for numbers written without a country code.
    /// - Returns: The number, or why it is not one; only numbers libphonenumber calls valid succeed.
    public static func parse(_ input: String, defaultRegion: Region = .cn) -> Result<PhoneNumber, ParseFailure> {
        if let plain = parsePlainE164(input) { return plain }
        var text: [UInt32] = []
        text.reserveCapacity(input.utf8.count)
        for scalar in input.unicodeScalars {
            guard let value = PhoneText.kithForm(of: scalar) else { continue }
            text.append(value)
            if text.count > PhoneText.maximumInputLength { return .failure(.tooLong) }
        }
        return text.withUnsafeBufferPointer { parse(text: $0, region: defaultRegion.metadata) }
    }

    /// Reads a number that must be a mobile one (or one whose region cannot tell): sign-in and number
    /// change, where a code is about to be texted (ACC-04, ACC-12).
    public static func parseMobile(_ input: String, defaultRegion: Region = .cn) -> Result<PhoneNumber, ParseFailure> {
        parse(input, defaultRegion: defaultRegion).flatMap { $0.canReceiveSMS ? .success($0) : .failure(.notMobile) }
    }

    /// Reads a number Kith wrote itself (`+` and digits, as stored or sealed): no region guessing, and a
    /// number the current metadata no longer validates is still read, with type ``NumberType/unknown``.
    public static func parseE164(_ input: String) -> Result<PhoneNumber, ParseFailure> {
        var utf8 = input.utf8.makeIterator()
        guard utf8.next() == UInt8(ascii: "+") else { return .failure(.invalidCharacters) }
        var value: UInt64 = 0
        var digits: [UInt32] = []
        while let byte = utf8.next() {
            guard (0x30...0x39).contains(byte) else { return .failure(.invalidCharacters) }
            digits.append(UInt32(byte))
            if digits.count > 19 { return .failure(.tooLong) }
            value = value * 10 + UInt64(byte - 0x30)
        }
        guard digits.count >= 4, digits[0] != 0x30 else { return .failure(.tooShort) }
        guard let (code, codeLength) = leadingCountryCode(digits) else { return .failure(.unknownCountryCode) }
        let national = Array(digits[codeLength...])
        let type = national.withUnsafeBufferPointer { validType(countryCode: code, national: $0) } ?? .unknown
        return .success(PhoneNumber(digits: value, digitCount: digits.count, countryCodeCount: codeLength, type: type))
    }

    // MARK: libphonenumber's parse

    /// The common case, `+` and ASCII digits only with a known country code, without the text pipeline:
    /// libphonenumber reads it as the country code and the national number, then strips a national prefix
    /// as for any number. `nil` for anything else, which the full parse reads.
    private static func parsePlainE164(_ input: String) -> Result<PhoneNumber, ParseFailure>? {
        let utf8 = input.utf8
        guard utf8.count >= 4, utf8.count <= 20, utf8.first == UInt8(ascii: "+") else { return nil }
        var digits: [UInt32] = []
        digits.reserveCapacity(utf8.count - 1)
        for byte in utf8.dropFirst() {
            guard byte &- 0x30 < 10 else { return nil }
            digits.append(UInt32(byte))
        }
        guard digits.count > PhoneText.minimumNationalLength, digits[0] != 0x30 else { return nil }
        guard let (code, length) = leadingCountryCode(digits),
            let metadata = PhoneMetadata.all.main(forCountryCode: code)
        else { return nil }
        digits.removeFirst(length)
        return finish(countryCode: code, national: digits, metadata: metadata)
    }

    private static func parse(
        text: UnsafeBufferPointer<UInt32>,
        region: PhoneMetadata
    ) -> Result<
        PhoneNumber, ParseFailure
    > {
        let number: [UInt32]
        switch PhoneText.nationalNumberForParsing(text) {
        case .success(let found): number = found
        case .failure(let failure): return .failure(failure)
        }
        guard PhoneText.isViable(number[...]) else {
            return .failure(text.contains { !PhoneText.isSpace($0) } ? .invalidCharacters : .empty)
        }
        let withoutExtension = PhoneText.strippingExtension(number)

        var countryCode: Int
        var national: [UInt32]
        switch extractCountryCode(withoutExtension[...], region: region) {
        case .success(let found):
            (countryCode, national) = found
        case .failure(.unknownCountryCode):
            // libphonenumber tries once more without the plus signs.
            let plusless = withoutExtension.drop { PhoneText.isPlus($0) }
            guard plusless.count < withoutExtension.count,
                case .success(let found) = extractCountryCode(plusless, region: region), found.0 != 0
            else { return .failure(.unknownCountryCode) }
            (countryCode, national) = found
        case .failure(let failure):
            return .failure(failure)
        }

        let metadata: PhoneMetadata
        if countryCode != 0 {
            guard let main = PhoneMetadata.all.main(forCountryCode: countryCode) else {
                return .failure(.unknownCountryCode)
            }
            metadata = main
        } else {
            // `national` is the whole number's digits, as libphonenumber's `normalize` gives them.
            countryCode = region.countryCode
            metadata = region
        }
        return finish(countryCode: countryCode, national: national, metadata: metadata)
    }

    /// The end of libphonenumber's parse, once the country code is known: the national prefix stripped
    /// where the lengths allow, then the lengths and the validity checked.
    private static func finish(
        countryCode: Int,
        national: [UInt32],
        metadata: PhoneMetadata
    ) -> Result<PhoneNumber, ParseFailure> {
        var national = national
        guard national.count >= PhoneText.minimumNationalLength else { return .failure(.tooShort) }

        let stripped = stripNationalPrefix(national, metadata: metadata)
        switch metadata.checkLength(stripped.count) {
        case .tooShort, .possibleLocalOnly, .invalidLength: break
        case .possible, .tooLong: national = stripped
        }
        guard national.count >= PhoneText.minimumNationalLength else { return .failure(.tooShort) }
        guard national.count <= PhoneText.maximumNationalLength else { return .failure(.tooLong) }

        let countryCodeCount = countryCode < 10 ? 1 : (countryCode < 100 ? 2 : 3)
        guard countryCodeCount + national.count <= 19 else { return .failure(.tooLong) }
        guard let type = national.withUnsafeBufferPointer({ validType(countryCode: countryCode, national: $0) }) else {
            return .failure(.invalidForRegion)
        }
        let value = national.reduce(UInt64(countryCode)) { $0 * 10 + UInt64($1 - 0x30) }
        return .success(
            PhoneNumber(
                digits: value,
                digitCount: countryCodeCount + national.count,
                countryCodeCount: countryCodeCount,
                type: type
            )
        )
    }

    /// libphonenumber's `isValidNumber` and `getNumberType` at once: the region among those sharing the
    /// country code (by leading digits, else by validity), then the type there; `nil` if invalid.
    private static func validType(countryCode: Int, national: UnsafeBufferPointer<UInt32>) -> NumberType? {
        guard let records = PhoneMetadata.all.records(forCountryCode: countryCode) else { return nil }
        if records.count == 1 { return records[0].type(of: national) }
        for record in records {
            if let leadingDigits = record.leadingDigits {
                if leadingDigits.matchesPrefix(national) { return record.type(of: national) }
            } else if let type = record.type(of: national) {
                return type
            }
        }
        return nil
    }

    /// libphonenumber's `extractCountryCode`: the shortest run of one to three leading ASCII digits that is
    /// a country code some region has, and its length.
    private static func leadingCountryCode(_ digits: [UInt32]) -> (code: Int, length: Int)? {
        var code = 0
        for length in 1...min(3, digits.count) {
            code = code * 10 + Int(digits[length - 1] &- 0x30)
            if PhoneMetadata.all.records(forCountryCode: code) != nil { return (code, length) }
        }
        return nil
    }

    /// libphonenumber's `maybeExtractCountryCode`: `(0, digits)` when the number carries no country code,
    /// with all its digits.
    private static func extractCountryCode(
        _ number: ArraySlice<UInt32>,
        region: PhoneMetadata
    ) -> Result<
        (Int, [UInt32]), ParseFailure
    > {
        guard !number.isEmpty else { return .success((0, [])) }
        var full: [UInt32]
        var international = false
        let plusless = number.drop { PhoneText.isPlus($0) }
        if plusless.count < number.count {
            full = PhoneText.normalized(plusless)
            international = true
        } else {
            full = PhoneText.normalized(number)
            if let prefix = region.internationalPrefix {
                var captures = CaptureSlots()
                let end = full.withUnsafeBufferPointer { prefix.matchPrefix($0, captures: &captures) }
                // A country code never starts with 0: "0011…" after a prefix "00" is no IDD.
                if let end, end >= full.count || full[end] != 0x30 {
                    full.removeFirst(end)
                    international = true
                }
            }
        }
        if international {
            guard full.count > PhoneText.minimumNationalLength else { return .failure(.tooShort) }
            guard full.first != 0x30 else { return .failure(.unknownCountryCode) }
            guard let (code, length) = leadingCountryCode(full) else { return .failure(.unknownCountryCode) }
            return .success((code, Array(full[length...])))
        }
        // The default region's country code written without + ("86 138 0013 8000").
        let code = region.countryCodeDigits
        if full.starts(with: code), let general = region.general {
            let potential = stripNationalPrefix(Array(full[code.count...]), metadata: region)
            let fullMatches = full.withUnsafeBufferPointer { general.pattern.matchesWhole($0) }
            let potentialMatches = potential.withUnsafeBufferPointer { general.pattern.matchesWhole($0) }
            if (!fullMatches && potentialMatches) || region.checkLength(full.count) == .tooLong {
                return .success((region.countryCode, potential))
            }
        }
        return .success((0, full))
    }

    /// libphonenumber's `maybeStripNationalPrefixAndCarrierCode`: the national number without its trunk
    /// prefix (or carrier code, as China's `17951`), unless that would make a viable number unviable.
    private static func stripNationalPrefix(_ number: [UInt32], metadata: PhoneMetadata) -> [UInt32] {
        guard !number.isEmpty, let prefix = metadata.nationalPrefixForParsing, let general = metadata.general else {
            return number
        }
        return number.withUnsafeBufferPointer { input -> [UInt32] in
            var captures = CaptureSlots()
            guard let end = prefix.matchPrefix(input, captures: &captures) else { return number }
            let viable = general.pattern.matchesWhole(input)
            let result: [UInt32]
            if let rule = metadata.nationalPrefixTransformRule, prefix.groupCount > 0,
                captures.range(ofGroup: prefix.groupCount) != nil
            {
                var transformed: [UInt32] = []
                for part in rule {
                    switch part {
                    case .digits(let digits): transformed += digits
                    case .group(let group):
                        if let range = captures.range(ofGroup: group) { transformed += input[range] }
                    }
                }
                result = transformed + input[end...]
            } else {
                result = Array(input[end...])
            }
            if viable, !result.withUnsafeBufferPointer({ general.pattern.matchesWhole($0) }) { return number }
            return result
        }
    }
}

/// The character-level part of libphonenumber's parser: where the number is in the text, whether it can
/// be one, its extension, and its digits.
enum PhoneText {
    static let maximumInputLength = 250
    static let minimumNationalLength = 2
    static let maximumNationalLength = 17

    static func isPlus(_ value: UInt32) -> Bool { value == 0x2B || value == 0xFF0B }

    static func isSpace(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        return scalar.properties.isWhitespace
    }

    /// What Kith reads a character as before libphonenumber's rules apply (`nil`: dropped). libphonenumber
    /// takes a few spaces and dashes; Kith takes every Unicode space (a tab, the narrow no-break space of
    /// French formatting, …) as a space and every dash as `-`, and drops invisible marks.
    @inline(__always)
    static func kithForm(of scalar: Unicode.Scalar) -> UInt32? {
        let value = scalar.value
        if value >= 0x20, value < 0x7F { return value }
        if isInvisible(value) { return nil }
        if value == 0x09 { return 0x20 }
        if isPunctuation(value) { return value }
        switch scalar.properties.generalCategory {
        case .spaceSeparator: return 0x20
        case .dashPunctuation: return 0x2D
        default: return value
        }
    }

    /// Format characters no one can see (zero-width, bidi and byte-order marks, the soft hyphen): Kith
    /// drops them before reading, where libphonenumber refuses the number.
    static func isInvisible(_ value: UInt32) -> Bool {
        switch value {
        case 0x00AD, 0x061C, 0x180E, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2064, 0x2066...0x206F, 0xFEFF:
            true
        default:
            false
        }
    }

    /// The decimal value of a Unicode digit (`٣`, `３`), if the scalar is one.
    @inline(__always)
    static func digitValue(_ value: UInt32) -> UInt32? {
        if value &- 0x30 < 10 { return value - 0x30 }
        guard value >= 0x80, let scalar = Unicode.Scalar(value), let numeric = scalar.properties.numericValue,
            scalar.properties.numericType == .decimal || scalar.properties.numericType == .digit
        else { return nil }
        return numeric >= 0 && numeric < 10 ? UInt32(numeric) : nil
    }

    static func isDecimalDigit(_ value: UInt32) -> Bool {
        if value &- 0x30 < 10 { return true }
        guard value >= 0x80, let scalar = Unicode.Scalar(value) else { return false }
        return scalar.properties.numericType == .decimal
    }

    static func isASCIILetter(_ value: UInt32) -> Bool { (value | 0x20) &- 0x61 < 26 }

    /// libphonenumber's `VALID_PUNCTUATION`.
    static func isPunctuation(_ value: UInt32) -> Bool {
        switch value {
        case 0x2D, 0x78, 0x58, 0x20, 0x28, 0x29, 0x2E, 0x5B, 0x5D, 0x2F, 0x7E, 0x00A0, 0x00AD, 0x2010...0x2015,
            0x2212, 0x30FC, 0xFF0D...0xFF0F, 0x200B, 0x2060, 0x3000, 0xFF08, 0xFF09, 0xFF3B, 0xFF3D, 0x2053, 0x223C,
            0xFF5E:
            true
        default:
            false
        }
    }

    /// `buildNationalNumberForParsing`: an RFC 3966 URI's number (with a `phone-context` prefix), or the
    /// number found in free text (from the first digit or plus sign, trailing punctuation and a second
    /// number dropped).
    static func nationalNumberForParsing(
        _ text: UnsafeBufferPointer<UInt32>
    ) -> Result<[UInt32], PhoneNumber.ParseFailure> {
        var number: [UInt32]
        let hasParameters = text.contains(0x3B)
        if hasParameters, let contextIndex = find(phoneContext, in: text[...]) {
            let start = contextIndex + phoneContext.count
            let end = text[start...].firstIndex(of: 0x3B) ?? text.count
            let context = Array(text[start..<end])
            guard isValidPhoneContext(context) else { return .failure(.invalidCharacters) }
            number = context.first == 0x2B ? context : []
            let telIndex = find(telPrefix, in: text[...]).map { $0 + telPrefix.count } ?? 0
            if telIndex < contextIndex { number += text[telIndex..<contextIndex] }
        } else {
            number = extractPossibleNumber(text)
        }
        if hasParameters, let isdn = find(isdnSubaddress, in: number[...]), isdn > 0 { number.removeSubrange(isdn...) }
        return .success(number)
    }

    private static let phoneContext = Array(";phone-context=".unicodeScalars.map(\.value))
    private static let telPrefix = Array("tel:".unicodeScalars.map(\.value))
    private static let isdnSubaddress = Array(";isub=".unicodeScalars.map(\.value))

    private static func find<Haystack: RandomAccessCollection<UInt32>>(
        _ needle: [UInt32],
        in haystack: Haystack
    ) -> Int?
    where Haystack.Index == Int {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        while index + needle.count <= haystack.endIndex {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// RFC 3966 `global-number-digits` or a domain name.
    private static func isValidPhoneContext(_ context: [UInt32]) -> Bool {
        guard let first = context.first else { return false }
        if first == 0x2B {
            let rest = context.dropFirst()
            return rest.contains(where: isDecimalDigit)
                && rest.allSatisfy { isDecimalDigit($0) || $0 == 0x2D || $0 == 0x2E || $0 == 0x28 || $0 == 0x29 }
        }
        let labels = context.split(separator: 0x2E, omittingEmptySubsequences: false)
        let named = context.last == 0x2E ? labels.dropLast() : labels[...]
        guard let top = named.last, let topFirst = top.first, isASCIILetter(topFirst) else { return false }
        return named.allSatisfy { label in
            guard let head = label.first, let tail = label.last, head != 0x2D, tail != 0x2D else { return false }
            return label.allSatisfy { isASCIILetter($0) || isDecimalDigit($0) || $0 == 0x2D }
        }
    }

    /// `extractPossibleNumber`.
    static func extractPossibleNumber(_ text: UnsafeBufferPointer<UInt32>) -> [UInt32] {
        guard let start = text.firstIndex(where: { isPlus($0) || isDecimalDigit($0) }) else { return [] }
        var end = text.count
        while end > start, !keepsAtEnd(text[end - 1]) { end -= 1 }
        var number = Array(text[start..<end])
        // A second number: "…x302/x2303" or "…\ x…".
        var index = 0
        while index < number.count {
            if number[index] == 0x2F || number[index] == 0x5C {
                var next = index + 1
                while next < number.count, number[next] == 0x20 { next += 1 }
                if next < number.count, number[next] == 0x78 {
                    number.removeSubrange(index...)
                    break
                }
            }
            index += 1
        }
        return number
    }

    /// Trailing characters kept: letters, numbers and `#` (a trailing `#` may end an extension).
    private static func keepsAtEnd(_ value: UInt32) -> Bool {
        if value == 0x23 { return true }
        if value == 0x5F { return false }
        if value < 0x80 { return isASCIILetter(value) || value &- 0x30 < 10 }
        guard let scalar = Unicode.Scalar(value) else { return false }
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    /// `isViablePhoneNumber`: two digits alone, or (after plus signs) at least three digits with only
    /// punctuation between them, then digits, punctuation and letters, and perhaps an extension.
    static func isViable(_ number: ArraySlice<UInt32>) -> Bool {
        guard number.count >= minimumNationalLength else { return false }
        if number.count == 2, number.allSatisfy(isDecimalDigit) { return true }
        if isViableWithoutExtension(number) { return true }
        guard mayHaveExtension(number) else { return false }
        return Array(number).withUnsafeBufferPointer { buffer in
            var start = 0
            while start <= buffer.count {
                guard let found = extensionStart(buffer, from: start) else { return false }
                if isViableWithoutExtension(number[(number.startIndex)..<(number.startIndex + found)]) { return true }
                start = found + 1
            }
            return false
        }
    }

    private static func isViableWithoutExtension(_ number: ArraySlice<UInt32>) -> Bool {
        var index = number.startIndex
        while index < number.endIndex, isPlus(number[index]) { index += 1 }
        var digits = 0
        while index < number.endIndex {
            let value = number[index]
            if isDecimalDigit(value) {
                digits += 1
            } else if !(isPunctuation(value) || value == 0x2A) {
                break
            }
            index += 1
        }
        guard digits >= 3 else { return false }
        return number[index...].allSatisfy {
            isPunctuation($0) || $0 == 0x2A || isASCIILetter($0) || isDecimalDigit($0)
        }
    }

    /// Whether an extension could be present at all: every form has a letter or one of `# , ; ~`.
    private static func mayHaveExtension(_ number: ArraySlice<UInt32>) -> Bool {
        number.contains { value in
            switch value {
            case 0x23, 0x2C, 0x3B, 0x7E, 0xFF03, 0xFF5E: return true
            default:
                if value < 0x80 { return isASCIILetter(value) }
                return Unicode.Scalar(value)?.properties.isAlphabetic ?? false
            }
        }
    }

    /// `maybeStripExtension`: the number without an extension at its end (the extension is dropped:
    /// Kith never keeps it).
    static func strippingExtension(_ number: [UInt32]) -> [UInt32] {
        guard mayHaveExtension(number[...]) else { return number }
        let found = number.withUnsafeBufferPointer { extensionStart($0, from: 0) }
        guard let found, isViable(number[..<found]) else { return number }
        return Array(number[..<found])
    }

    /// The first position at or after `start` from which an extension runs to the end.
    private static func extensionStart(_ buffer: UnsafeBufferPointer<UInt32>, from start: Int) -> Int? {
        var position = start
        while position <= buffer.count {
            if extensionPattern.matchesWhole(UnsafeBufferPointer(rebasing: buffer[position...])) { return position }
            position += 1
        }
        return nil
    }

    /// libphonenumber's `EXTN_PATTERNS_FOR_PARSING` (case-insensitive).
    private static let extensionPattern: PhonePattern = {
        let digits = { (limit: Int) in "(\\d{1,\(limit)})" }
        let separators = "[ \u{00A0}\t,]*"
        let afterLabel = "[:\\.\u{FF0E}]?[ \u{00A0}\t,-]*"
        let explicitLabels =
            "(?:e?xt(?:ensi(?:o\u{0301}?|\u{00F3}))?n?|\u{FF45}?\u{FF58}\u{FF54}\u{FF4E}?|\u{0434}\u{043E}\u{0431}|anexo)"
        let ambiguousLabels = "(?:[x\u{FF58}#\u{FF03}~\u{FF5E}]|int|\u{FF49}\u{FF4E}\u{FF54})"
        let noComma = "[ \u{00A0}\t]*"
        let alternatives = [
            ";ext=" + digits(20),
            separators + explicitLabels + afterLabel + digits(20) + "#?",
            separators + ambiguousLabels + afterLabel + digits(9) + "#?",
            "[- ]+" + digits(6) + "#",
            noComma + "(?:,{2}|;)" + afterLabel + digits(15) + "#?",
            noComma + "(?:,)+" + afterLabel + digits(9) + "#?",
        ]
        do {
            return try PhonePattern(alternatives.joined(separator: "|"), caseInsensitive: true)
        } catch {
            preconditionFailure("the extension pattern does not compile")
        }
    }()

    /// `normalize`: the digits (any script's, as ASCII); with three or more ASCII letters, letters become
    /// their keypad digits (`1-800-FLOWERS`) and only ASCII digits are kept.
    static func normalized(_ number: ArraySlice<UInt32>) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(number.count)
        var letters = 0
        for value in number where isASCIILetter(value) {
            letters += 1
            if letters >= 3 { break }
        }
        if letters >= 3 {
            for value in number {
                if value &- 0x30 < 10 {
                    result.append(value)
                } else if isASCIILetter(value) {
                    result.append(keypad[Int((value | 0x20) - 0x61)])
                }
            }
        } else {
            for value in number {
                if let digit = digitValue(value) { result.append(0x30 + digit) }
            }
        }
        return result
    }

    /// ITU E.161 keypad: a–z to digits.
    private static let keypad: [UInt32] = Array("22233344455566677778889999".unicodeScalars.map(\.value))
}
