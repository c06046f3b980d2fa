import KithCore
import Testing

/// Expected values are libphonenumber's (phonenumbers 9.0.43), except where a test says Kith differs.
@Suite("PhoneNumber: read as libphonenumber reads it")
struct PhoneNumberTests {
    @Test(
        "ACC-12: every written form of a number reads as its E.164",
        arguments: [
            ("+86 138 0013 8000", "CN", "+8613800138000"),
            ("138-0013-8000", "CN", "+8613800138000"),
            ("0086 138 0013 8000", "CN", "+8613800138000"),
            ("86 147 3700 6817", "CN", "+8614737006817"),
            ("(010) 6552 9988", "CN", "+861065529988"),
            ("tel:+86-147-3700-6817", "CN", "+8614737006817"),
            ("tel:+86-147-3700-6817;ext=12", "CN", "+8614737006817"),
            ("tel:6552-9988;phone-context=+86-10", "CN", "+861065529988"),
            ("＋８６ １４７ ３７００ ６８１７", "CN", "+8614737006817"),
            ("+٨٦١٣٨٠٠١٣٨٠٠٠", "CN", "+8613800138000"),
            ("+86\u{3000}147\u{3000}3700\u{3000}6817", "CN", "+8614737006817"),
            ("147\u{2013}3700\u{2013}6817", "CN", "+8614737006817"),
            ("\u{202A}+86 147 3700 6817\u{202C}", "CN", "+8614737006817"),
            ("+86 147 3700 6817\r\n", "CN", "+8614737006817"),
            ("Tel: +86 147 3700 6817", "CN", "+8614737006817"),
            ("电话：147 3700 6817", "CN", "+8614737006817"),
            ("+86 147 3700 6817 ext. 123", "CN", "+8614737006817"),
            ("+86 147 3700 6817 x45", "CN", "+8614737006817"),
            ("+86 (0)147 3700 6817", "CN", "+8614737006817"),
            ("+81 (0)90 1234 5678", "JP", "+819012345678"),
            ("090-1234-5678", "JP", "+819012345678"),
            ("011 86 147 3700 6817", "US", "+8614737006817"),
            ("001 86 147 3700 6817", "HK", "+8614737006817"),
            ("002 86 147 3700 6817", "TW", "+8614737006817"),
            ("17951 147 3700 6817", "CN", "+8614737006817"),
            ("12593 13812345678", "CN", "+8613812345678"),
            ("6612 3456", "MO", "+85366123456"),
            ("+853 6612 3456", "CN", "+85366123456"),
            ("1-800-FLOWERS", "US", "+18003569377"),
            ("+1 650 253 0000", "US", "+16502530000"),
            ("+44 20 7946 0958", "GB", "+442079460958"),
        ]
    )
    func normalises(input: String, region: String, expected: String) throws {
        let parsed = try PhoneNumber.parse(input, defaultRegion: #require(PhoneNumber.Region(code: region))).get()
        #expect(parsed.e164 == expected)
    }

    @Test(
        "ACC-12: Kith also reads what libphonenumber refuses only for invisible marks or unusual spaces",
        arguments: [
            "+86 147\u{200B}3700\u{200E}6817", "+86\t147 3700 6817", "+86\u{202F}147\u{202F}3700\u{202F}6817",
            "\u{FEFF}147 3700 6817",
        ]
    )
    func kithForms(input: String) throws {
        #expect(try PhoneNumber.parse(input, defaultRegion: .cn).get().e164 == "+8614737006817")
    }

    @Test(
        "ACC-12: numbers that do not exist are refused, with a reason that does not echo them",
        arguments: [
            ("", PhoneNumber.ParseFailure.empty),
            ("call me", .invalidCharacters),
            ("13+800138000", .invalidCharacters),
            ("+86 138 0013 8000 转 123", .invalidCharacters),
            ("+86 179 3700 6817", .invalidForRegion),  // unassigned CN range
            ("+86 144 3700 6817", .invalidForRegion),
            ("+86 147 3700 681", .invalidForRegion),  // a digit short
            ("+86 168 1234 5678", .invalidForRegion),
            ("+886 912 345 67", .invalidForRegion),
            ("+86 138", .invalidForRegion),
            ("+8612345678901234567", .invalidForRegion),
            ("12345", .invalidForRegion),
            ("1380013800", .invalidForRegion),
            ("+86 238 0013 8000 1", .invalidForRegion),
            ("+999 1234 5678", .unknownCountryCode),
        ]
    )
    func refuses(input: String, failure: PhoneNumber.ParseFailure) {
        #expect(throws: failure) { try PhoneNumber.parse(input, defaultRegion: .cn).get() }
        #expect(failure.rawValue.allSatisfy { !$0.isNumber })
    }

    @Test(
        "ACC-12: the type decides use: only numbers a text can reach are taken for sign-in",
        arguments: [
            ("+86 138 0013 8000", PhoneNumber.NumberType.mobile, true),
            ("+1 650 253 0000", .fixedLineOrMobile, true),
            ("(010) 6552 9988", .fixedLine, false),
            ("+86 16812345", .premiumRate, false),
            ("+86 400 123 4567", .sharedCost, false),
            ("+86 800 123 4567", .tollFree, false),
            ("+44 20 7946 0958", .fixedLine, false),
        ]
    )
    func types(input: String, type: PhoneNumber.NumberType, mobile: Bool) throws {
        let phone = try PhoneNumber.parse(input, defaultRegion: .cn).get()
        #expect(phone.type == type)
        #expect(phone.canReceiveSMS == mobile)
        if mobile {
            #expect(try PhoneNumber.parseMobile(input, defaultRegion: .cn).get() == phone)
        } else {
            #expect(throws: PhoneNumber.ParseFailure.notMobile) {
                try PhoneNumber.parseMobile(input, defaultRegion: .cn).get()
            }
        }
    }

    @Test("every region of the metadata can be the default region, and reads its own example of a mobile number")
    func everyRegion() {
        let regions = PhoneNumber.Region.all
        #expect(regions.count >= 240)
        for code in ["CN", "MO", "JP", "IN", "AU", "BR", "HK", "TW", "ZA", "AR", "MX"] {
            #expect(PhoneNumber.Region(code: code) != nil, "\(code)")
        }
        #expect(PhoneNumber.Region(code: "XX") == nil)
        #expect(PhoneNumber.Region(code: "001") == nil)
    }

    @Test("a stored number reads back even if the metadata no longer knows it")
    func stored() throws {
        #expect(try PhoneNumber.parseE164("+8613800138000").get().type == .mobile)
        #expect(try PhoneNumber.parseE164("+8617900000000").get().type == .unknown)
        #expect(throws: PhoneNumber.ParseFailure.invalidCharacters) { try PhoneNumber.parseE164("8613800138000").get() }
    }

    @Test("ACC-11, CON-03: a phone number never prints itself")
    func redacted() throws {
        let phone = try PhoneNumber.parse("+8613800138000").get()
        #expect(!"\(phone)".contains("138"))
        #expect(!String(reflecting: phone).contains("138"))
    }

    @Test("withE164Bytes gives the bytes of e164, up to libphonenumber's longest numbers")
    func bytes() throws {
        for input in ["+8613800138000", "+14155550100", "+85261234567", "+4930123456"] {
            let phone = try PhoneNumber.parse(input).get()
            #expect(phone.withE164Bytes { Array($0) } == Array(phone.e164.utf8))
        }
    }
}
