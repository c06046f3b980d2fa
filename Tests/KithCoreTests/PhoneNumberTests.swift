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
