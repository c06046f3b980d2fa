import KithCore
import Testing

@Suite("Visibility and suggestion reasons (issue 4 §1, PYM-04)")
struct NetworkRulesTests {
    @Test("each audience admits exactly the relationships it names; a block admits nothing")
    func audiences() {
        for audience in Audience.allCases {
            #expect(audience.admits(.selfView))
            #expect(!audience.admits(.blocked))
        }
        #expect(Audience.everyone.admits(.other) && Audience.everyone.admits(.connection))
        #expect(Audience.connections.admits(.connection) && !Audience.connections.admits(.other))
        #expect(!Audience.onlyMe.admits(.connection) && !Audience.onlyMe.admits(.other))
    }

    @Test("career and education default to connections; empty values are never shown")
    func defaults() {
        let profile = Profile(values: [.displayName: "Ann", .employer: "Acme", .school: "PKU", .city: ""])
        #expect(profile.visible(to: .other) == [.displayName: "Ann"])
        #expect(profile.visible(to: .connection) == [.displayName: "Ann", .employer: "Acme", .school: "PKU"])
        #expect(Profile.matchKey("  Acme   Corp ") == Profile.matchKey("acme corp"))
    }

    @Test("PYM-04 reason sentences name only what they are given")
    func sentences() {
        let three = SuggestionReason.mutualConnections(count: 3, names: ["A", "B"])
        #expect(three.text(.en) == "3 mutual connections: A, B and 1 other")
        #expect(three.text(.zhCN) == "3 位共同联系人：A、B 及另外 1 位")
        #expect(
            SuggestionReason.mutualConnections(count: 2, names: ["A", "B"]).text(.en) == "2 mutual connections: A and B"
        )
        #expect(SuggestionReason.mutualConnections(count: 1, names: ["A"]).text(.en) == "1 mutual connection: A")
        #expect(SuggestionReason.mutualConnections(count: 5, names: []).text(.en) == "5 mutual connections")
        #expect(
            SuggestionReason.mutualConnections(count: 7, names: ["A", "B", "C"]).text(.en).hasSuffix("and 4 others")
        )
        // The contact reasons speak only of the viewer's and the suggested person's own address books.
        for reason in [SuggestionReason.youHaveTheirNumber, .theyHaveYourNumber] {
            for locale in NoticeLocale.allCases { #expect(!reason.text(locale).contains("friend")) }
        }
        // Three steps away: a count, never a name of the people on the way.
        #expect(SuggestionReason.extendedNetwork(count: 4).text(.en) == "Connected to 4 people your connections know")
        #expect(SuggestionReason.extendedNetwork(count: 1).text(.en) == "Connected to someone your connections know")
        #expect(SuggestionReason.extendedNetwork(count: 4).text(.zhCN) == "与您的联系人认识的 4 位用户有联系")
        #expect(Set(SuggestionReason.allCodes).count == 7)
    }
}

extension SuggestionReason {
    static let allCodes = [
        SuggestionReason.mutualConnections(count: 1, names: []), .youHaveTheirNumber, .theyHaveYourNumber,
        .sameEmployer(""), .sameSchool(""), .extendedNetwork(count: 1), .nonPersonalised,
    ].map(\.code)
}
