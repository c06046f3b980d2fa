import KithCore
import PropertyBased
import Testing

/// Properties of the access policy over random settings and scopes: the whole audience space (3⁶ per
/// person), every switch and every pair of scope sets, beyond the table's patterns.
@Suite("Access policy properties")
struct AccessPolicyPropertyTests {
    static let relationships: [Relationship] = [.selfView, .connection, .other, .blocked]

    static let subjects = Gen<Audience>.case.array(of: ProfileField.allCases.count).map { audiences in
        Dictionary(uniqueKeysWithValues: zip(ProfileField.allCases, audiences))
    }
    static let switches = Gen.bool.array(of: 4)
    static let relationship = Gen.int(in: 0...3).map { relationships[$0] }
    static let scopes = Gen<Scope>.case.set(ofAtMost: 0...Scope.allCases.count)

    static func settings(_ audiences: [ProfileField: Audience], _ switches: [Bool]) -> SubjectSettings {
        SubjectSettings(
            audiences: audiences,
            hidesConnections: switches[0],
            suggestable: switches[1],
            discoverableByPhone: switches[2],
            showsEndorsements: switches[3]
        )
    }

    static func viewers(_ relationship: Relationship, _ app: AppAuthorisation) -> [Viewer] {
        [.person(relationship), .operator, .app(app, actingFor: relationship)]
    }

    @Test("API-02 an app never sees more than the person it acts for, whatever it was approved and granted")
    func appWithinPerson() async {
        await propertyCheck(
            count: 500,
            input: Self.subjects,
            Self.switches,
            Self.relationship,
            Self.scopes,
            Self.scopes
        ) { audiences, switches, relationship, approved, granted in
            let subject = Self.settings(audiences, switches)
            let app = AppAuthorisation(approvedScopes: approved, grantedScopes: granted)
            let person = AccessPolicy.admitted(to: .person(relationship), of: subject)
            let seen = AccessPolicy.admitted(to: .app(app, actingFor: relationship), of: subject)
            #expect(seen.isWithin(person))
            #expect(seen.fields.allSatisfy { approved.contains($0.scope) && granted.contains($0.scope) })
            // Approved ∩ granted is all that counts: the same app with the intersection on both sides sees the same.
            let effective = AppAuthorisation(approvedScopes: app.effectiveScopes, grantedScopes: app.effectiveScopes)
            #expect(AccessPolicy.admitted(to: .app(effective, actingFor: relationship), of: subject) == seen)
        }
    }

    @Test("API-02 a further scope never shows less")
    func moreScopesNeverLess() async {
        await propertyCheck(
            count: 500,
            input: Self.subjects,
            Self.switches,
            Self.relationship,
            Self.scopes,
            Self.scopes
        ) { audiences, switches, relationship, some, more in
            let subject = Self.settings(audiences, switches)
            let narrow = AppAuthorisation(approvedScopes: some, grantedScopes: some)
            let wide = AppAuthorisation(approvedScopes: some.union(more), grantedScopes: some.union(more))
            #expect(
                AccessPolicy.admitted(to: .app(narrow, actingFor: relationship), of: subject)
                    .isWithin(AccessPolicy.admitted(to: .app(wide, actingFor: relationship), of: subject))
            )
        }
    }

    @Test("PYM-04 DSR-09 CON-05 narrowing an audience or turning on a restriction never shows more, to anyone")
    func restrictionsNeverShowMore() async {
        await propertyCheck(
            count: 500,
            input: Self.subjects,
            Self.switches,
            Self.relationship,
            Self.scopes,
            Gen.int(in: 0...(ProfileField.allCases.count + 3))
        ) { audiences, switches, relationship, scopes, change in
            let before = Self.settings(audiences, switches)
            var after = before
            if change < ProfileField.allCases.count {
                let field = ProfileField.allCases[change]
                after.audiences[field] = Self.narrower(before.audience(of: field))
            } else {
                switch change - ProfileField.allCases.count {
                case 0: after.hidesConnections = true
                case 1: after.suggestable = false
                case 2: after.discoverableByPhone = false
                default: after.showsEndorsements = false
                }
            }
            let app = AppAuthorisation(approvedScopes: scopes, grantedScopes: scopes)
            for viewer in Self.viewers(relationship, app) {
                #expect(
                    AccessPolicy.admitted(to: viewer, of: after).isWithin(
                        AccessPolicy.admitted(to: viewer, of: before)
                    ),
                    "\(viewer)"
                )
            }
        }
    }

    @Test("GEN-05 a block yields the same as a person who does not exist, whatever the settings and scopes")
    func blockIsNothing() async {
        await propertyCheck(count: 200, input: Self.subjects, Self.switches, Self.scopes) {
            audiences,
            switches,
            scopes in
            let subject = Self.settings(audiences, switches)
            let app = AppAuthorisation(approvedScopes: scopes, grantedScopes: scopes)
            #expect(AccessPolicy.admitted(to: .person(.blocked), of: subject) == .nothing)
            #expect(AccessPolicy.admitted(to: .app(app, actingFor: .blocked), of: subject) == .nothing)
        }
    }

    /// The next narrower audience (only-me stays only-me).
    static func narrower(_ audience: Audience) -> Audience {
        switch audience {
        case .everyone: .connections
        case .connections, .onlyMe: .onlyMe
        }
    }
}
