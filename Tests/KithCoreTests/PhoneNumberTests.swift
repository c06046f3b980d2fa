import KithCore
import Testing

@Suite("PhoneNumber normalisation")
struct PhoneNumberTests {
    @Test(
        "national and international forms normalise to E.164",
        arguments: [
            ("+86 138 0013 8000", "+8613800138000"),
            ("138-0013-8000", "+8613800138000"),
            ("13800138000", "+8613800138000"),
            ("008613800138000", "+8613800138000"),
            ("86 13800138000", "+8613800138000"),
            ("(010) 6552 9988", "+861065529988"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("+852 6123 4567", "+85261234567"),
        ]
    )
    func normalises(input: String, expected: String) throws {
        let parsed = try PhoneNumber.parse(input, defaultRegion: .cn).get()
        #expect(parsed.e164 == expected)
    }

    @Test("the default region decides national forms")
    func regionMatters() throws {
        #expect(try PhoneNumber.parse("(415) 555-0100", defaultRegion: .us).get().e164 == "+14155550100")
        #expect(try PhoneNumber.parse("020 7946 0958", defaultRegion: .gb).get().e164 == "+442079460958")
    }

    @Test(
        "garbage is refused with a reason that does not echo the input",
        arguments: [
            ("", PhoneNumber.ParseFailure.empty),
            ("call me", .invalidCharacters),
            ("+86 138", .tooShort),
            ("12345", .invalidForRegion),
            ("+8612345678901234567", .tooLong),
            ("1380013800", .invalidForRegion),
            ("+86 238 0013 8000 1", .invalidForRegion),
            ("13+800138000", .invalidCharacters),
        ]
    )
    func refuses(input: String, failure: PhoneNumber.ParseFailure) {
        #expect(throws: failure) { try PhoneNumber.parse(input, defaultRegion: .cn).get() }
    }

    @Test("a phone number never prints itself (CON-03, ACC-11)")
    func redacted() throws {
        let phone = try PhoneNumber.parse("+8613800138000").get()
        #expect(!"\(phone)".contains("138"))
        #expect(!String(reflecting: phone).contains("138"))
    }
}

/// The first implementation of ``PhoneNumber/parse(_:defaultRegion:)`` (digit arrays and strings), kept as
/// the oracle for the allocation-free one.
private enum ReferenceParser {
    struct Region {
        let code: String
        let countryCode: [UInt8]
        let trunkPrefix: UInt8?
        let nationalLengths: ClosedRange<Int>

        static let all = [
            Region(code: "CN", countryCode: [8, 6], trunkPrefix: 0, nationalLengths: 9...11),
            Region(code: "HK", countryCode: [8, 5, 2], trunkPrefix: nil, nationalLengths: 8...8),
            Region(code: "TW", countryCode: [8, 8, 6], trunkPrefix: 0, nationalLengths: 8...9),
            Region(code: "US", countryCode: [1], trunkPrefix: 1, nationalLengths: 10...10),
            Region(code: "GB", countryCode: [4, 4], trunkPrefix: 0, nationalLengths: 9...10),
            Region(code: "DE", countryCode: [4, 9], trunkPrefix: 0, nationalLengths: 6...13),
            Region(code: "SG", countryCode: [6, 5], trunkPrefix: nil, nationalLengths: 8...8),
        ]

        func accepts(international digits: [UInt8]) -> Bool {
            let national = digits.dropFirst(countryCode.count)
            guard let first = national.first else { return false }
            if let trunkPrefix, first == trunkPrefix { return false }
            if code == "CN", first == 1, national.dropFirst().first != 0 { return national.count == 11 }
            return nationalLengths.contains(national.count)
        }

        func nationalToInternational(_ digits: [UInt8]) -> [UInt8]? {
            var national = digits[...]
            if let trunkPrefix, national.first == trunkPrefix { national = national.dropFirst() }
            if nationalLengths.contains(national.count) {
                let candidate = countryCode + national
                return accepts(international: candidate) ? candidate : nil
            }
            if digits.starts(with: countryCode), accepts(international: digits) { return digits }
            return nil
        }
    }

    static func parse(_ input: String, region: Region) -> Result<String, PhoneNumber.ParseFailure> {
        var digits: [UInt8] = []
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
        let international: [UInt8]
        if sawPlus {
            international = digits
        } else if digits.count > 2, digits[0] == 0, digits[1] == 0 {
            international = Array(digits.dropFirst(2))
        } else if let national = region.nationalToInternational(digits) {
            international = national
        } else {
            return .failure(.invalidForRegion)
        }
        if international.count < 8 { return .failure(.tooShort) }
        if international.count > 15 { return .failure(.tooLong) }
        guard international[0] != 0 else { return .failure(.unknownCountryCode) }
        if let match = Region.all.first(where: { international.starts(with: $0.countryCode) }),
            !match.accepts(international: international)
        {
            return .failure(.invalidForRegion)
        }
        return .success("+" + international.map { String($0) }.joined())
    }
}

@Suite("PhoneNumber normalisation agrees with the reference implementation")
struct PhoneNumberReferenceTests {
    /// A small seeded generator, so a failure can be replayed.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static func inputs(count: Int) -> [String] {
        var generator = Generator(state: 42)
        let prefixes = [
            "", "+", "00", "0", "1", "86", "+86", "0086", "852", "+852", "886", "44", "+44", "49", "65", "+1",
        ]
        let separators = ["", " ", "-", ".", "(", ")", "\u{00A0}", "\t"]
        var inputs: [String] = []
        for _ in 0..<count {
            var text = prefixes[generator.next(prefixes.count)]
            let length = generator.next(19)
            for position in 0..<length {
                if generator.next(5) == 0 { text += separators[generator.next(separators.count)] }
                // Mobile-looking numbers now and then: a leading 1 then 3..9.
                text += String(position == 0 && generator.next(2) == 0 ? 1 : generator.next(10))
            }
            switch generator.next(40) {
            case 0: text += "x"
            case 1: text = "+" + text
            case 2: text.insert("+", at: text.index(text.startIndex, offsetBy: text.count / 2))
            default: break
            }
            inputs.append(text)
        }
        return inputs
    }

    @Test("parse agrees with the first implementation on generated inputs, in every region")
    func agrees() {
        for reference in ReferenceParser.Region.all {
            let region = PhoneNumber.Region(code: reference.code)!
            for input in Self.inputs(count: 20_000) {
                let expected = ReferenceParser.parse(input, region: reference)
                let actual = PhoneNumber.parse(input, defaultRegion: region).map(\.e164)
                #expect(actual == expected, "region \(reference.code), input \(input.debugDescription)")
            }
        }
    }

    @Test("withE164Bytes gives the bytes of e164")
    func bytes() throws {
        for input in ["+8613800138000", "+14155550100", "+85261234567", "+4930123456"] {
            let phone = try PhoneNumber.parse(input).get()
            #expect(phone.withE164Bytes { Array($0) } == Array(phone.e164.utf8))
        }
    }
}
