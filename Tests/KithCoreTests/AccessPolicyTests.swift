import KithCore
import Testing

/// The access policy as a table: explicit rows for the cases that matter, then the whole cross product of
/// viewer kind × relationship × settings checked against the rules as the requirements state them.
@Suite("Access policy: what a viewer may see of a person (issue 10 item 4)")
struct AccessPolicyTests {
    // MARK: Explicit rows

    /// One row of the table: who reads, the subject's settings, and what the policy must admit.
    struct Row: Sendable, CustomTestStringConvertible {
        var rule: String
        var viewer: Viewer
        var subject: SubjectSettings
        var admitted: AdmittedView

        var testDescription: String { rule }
    }

    static let publicFields: Set<ProfileField> = [.displayName, .headline, .city, .avatarURL]
    static let allFields = Set(ProfileField.allCases)
    static let basic = AppAuthorisation(approvedScopes: [.profileBasic], grantedScopes: [.profileBasic])
    static let everything = AppAuthorisation(approvedScopes: Set(Scope.allCases), grantedScopes: Set(Scope.allCases))

    static let rows: [Row] = [
        Row(
            rule: "GEN-05 blocked either way: nothing, as for a person who does not exist",
            viewer: .person(.blocked),
            subject: .everythingPublic,
            admitted: .nothing
        ),
        Row(
            rule: "GEN-05 an app acting for a blocked person gets nothing either, whatever its scopes",
            viewer: .app(everything, actingFor: .blocked),
            subject: .everythingPublic,
            admitted: .nothing
        ),
        Row(
            rule: "the subject themself sees every field, their settings, their hidden list and every endorsement",
            viewer: .subjectThemself,
            subject: .everythingPrivate,
            admitted: .sees(allFields, settings: true, list: true, endorsements: .full)
        ),
        Row(
            rule: "PYM-04 a stranger sees only the everyone fields (career and education default to connections)",
            viewer: .person(.other),
            subject: SubjectSettings(),
            admitted: .sees(publicFields, endorsements: .counts, suggestion: true)
        ),
        Row(
            rule: "a connection sees the connections fields and the list, and is a path for mutual connections",
            viewer: .person(.connection),
            subject: SubjectSettings(),
            admitted: .sees(allFields, list: true, endorsements: .counts, mutual: true)
        ),
        Row(
            rule: "an only-me field is shown to no connection",
            viewer: .person(.connection),
            subject: SubjectSettings(audiences: [.city: .onlyMe, .employer: .onlyMe]),
            admitted: .sees(
                [.displayName, .headline, .school, .avatarURL],
                list: true,
                endorsements: .counts,
                mutual: true
            )
        ),
        Row(
            rule: "PYM-04 a hidden connection list: not to a connection, and no mutual-connection path through them",
            viewer: .person(.connection),
            subject: SubjectSettings(hidesConnections: true),
            admitted: .sees(allFields, endorsements: .counts)
        ),
        Row(
            rule: "PYM-04 a hidden connection list is still the subject's own to see",
            viewer: .subjectThemself,
            subject: SubjectSettings(hidesConnections: true),
            admitted: .sees(allFields, settings: true, list: true, endorsements: .full)
        ),
        Row(
            rule: "PYM-04 a stranger never sees a connection list, hidden or not",
            viewer: .person(.other),
            subject: .everythingPublic,
            admitted: .sees(allFields, endorsements: .counts, suggestion: true, phone: true)
        ),
        Row(
            rule: "DSR-09 don't suggest me: not a stranger's suggestion nor in their second degree",
            viewer: .person(.other),
            subject: SubjectSettings(suggestable: false),
            admitted: .sees(publicFields, endorsements: .counts)
        ),
        Row(
            rule: "DSR-09 don't suggest me leaves the basic service alone: a connection still sees list and mutuals",
            viewer: .person(.connection),
            subject: SubjectSettings(suggestable: false),
            admitted: .sees(allFields, list: true, endorsements: .counts, mutual: true)
        ),
        Row(
            rule: "CON-05 a discoverable person may be found from a stranger's contacts",
            viewer: .person(.other),
            subject: SubjectSettings(discoverableByPhone: true),
            admitted: .sees(publicFields, endorsements: .counts, suggestion: true, phone: true)
        ),
        Row(
            rule: "MSG-01 endorsements not shown: others see no counts",
            viewer: .person(.connection),
            subject: SubjectSettings(showsEndorsements: false),
            admitted: .sees(allFields, list: true, mutual: true)
        ),
        Row(
            rule: "MSG-01 endorsements not shown: the subject still sees every one",
            viewer: .subjectThemself,
            subject: SubjectSettings(showsEndorsements: false),
            admitted: .sees(allFields, settings: true, list: true, endorsements: .full)
        ),
        Row(
            rule: "API-02 an app with profile.basic, for a connection: the basic fields only, and the read is logged",
            viewer: .app(basic, actingFor: .connection),
            subject: SubjectSettings(),
            admitted: .sees([.displayName, .headline, .avatarURL], logged: true)
        ),
        Row(
            rule: "API-02 career granted by the person but never approved for the client: no employer",
            viewer: .app(
                AppAuthorisation(approvedScopes: [.profileBasic], grantedScopes: [.profileBasic, .profileCareer]),
                actingFor: .connection
            ),
            subject: SubjectSettings(),
            admitted: .sees([.displayName, .headline, .avatarURL], logged: true)
        ),
        Row(
            rule: "API-02 career approved for the client but not granted by the person: no employer",
            viewer: .app(
                AppAuthorisation(approvedScopes: [.profileBasic, .profileCareer], grantedScopes: [.profileBasic]),
                actingFor: .connection
            ),
            subject: SubjectSettings(),
            admitted: .sees([.displayName, .headline, .avatarURL], logged: true)
        ),
        Row(
            rule: "API-02 career approved and granted, for a stranger: still no employer the stranger cannot see",
            viewer: .app(everything, actingFor: .other),
            subject: SubjectSettings(),
            admitted: .sees(publicFields, endorsements: .counts, logged: true)
        ),
        Row(
            rule: "API-02 connections.read for a connection whose list is hidden: no list",
            viewer: .app(everything, actingFor: .connection),
            subject: SubjectSettings(hidesConnections: true),
            admitted: .sees(allFields, endorsements: .counts, logged: true)
        ),
        Row(
            rule: "API-02 every scope, for the subject themself: no settings, endorsements at most counted",
            viewer: .app(everything, actingFor: .selfView),
            subject: SubjectSettings(),
            admitted: .sees(allFields, list: true, endorsements: .counts, logged: true)
        ),
        Row(
            rule: "API-02 an app with no effective scope sees that the person exists and nothing more",
            viewer: .app(AppAuthorisation(approvedScopes: [.profileBasic], grantedScopes: []), actingFor: .connection),
            subject: .everythingPublic,
            admitted: .sees([], logged: true)
        ),
        Row(
            rule: "SEC-02 an operator sees the stored profile and settings, every endorsement, never the list; logged",
            viewer: .operator,
            subject: .everythingPrivate,
            admitted: .sees(allFields, settings: true, endorsements: .full, logged: true)
        ),
    ]

    @Test("PYM-04 DSR-09 CON-05 GEN-05 API-02 MSG-01 SEC-02 the policy admits what each row states", arguments: rows)
    func row(_ row: Row) {
        #expect(AccessPolicy.admitted(to: row.viewer, of: row.subject) == row.admitted)
    }

    // MARK: The cross product against the rules

    /// A rule as the requirements state it, checked on every case of the cross product.
    struct Rule: Sendable, CustomTestStringConvertible {
        var statement: String
        var holds: @Sendable (PolicyCase) -> Bool

        var testDescription: String { statement }
    }

    static let rules: [Rule] = [
        Rule(statement: "GEN-05 blocked either way: nothing, as for a person who does not exist") { c in
            c.viewer.relationship != .blocked || c.view == .nothing
        },
        Rule(statement: "GEN-05 a person who does not exist for the viewer shows nothing else either") { c in
            c.view.exists || c.view == .nothing
        },
        Rule(statement: "GEN-05 everyone but a blocked viewer learns that the person exists") { c in
            c.view.exists == (c.viewer.relationship != .blocked)
        },
        Rule(statement: "PYM-04 a stranger sees exactly the fields whose audience is everyone") { c in
            c.viewer != .person(.other) || c.view.fields == c.fields { $0 == .everyone }
        },
        Rule(statement: "a connection sees exactly the fields whose audience is everyone or connections") { c in
            c.viewer != .person(.connection) || c.view.fields == c.fields { $0 != .onlyMe }
        },
        Rule(statement: "an only-me field reaches the subject themself (or an app for them) and operators only") { c in
            c.view.fields.isDisjoint(with: c.fields { $0 == .onlyMe })
                || [.selfView, nil].contains(c.viewer.relationship)
        },
        Rule(statement: "PYM-04 a hidden connection list is shown to nobody but the subject") { c in
            !(c.subject.hidesConnections && c.view.connectionList) || c.viewer.relationship == .selfView
        },
        Rule(statement: "PYM-04 a connection list is shown only to the subject and to the subject's connections") { c in
            !c.view.connectionList || [.selfView, .connection].contains(c.viewer.relationship)
        },
        Rule(statement: "DSR-09 don't suggest me: out of everyone's suggestions and second degree") { c in
            c.subject.suggestable || !c.view.asSuggestion
        },
        Rule(statement: "PYM-04 only a stranger, reading in Kith, may be offered the person as a suggestion") { c in
            !c.view.asSuggestion || c.viewer == .person(.other)
        },
        Rule(statement: "DSR-09 a suggestable person is a suggestion for every stranger") { c in
            c.viewer != .person(.other) || c.view.asSuggestion == c.subject.suggestable
        },
        Rule(statement: "PYM-04 a mutual connection is the viewer's own connection who does not hide their list") { c in
            c.view.asMutualConnection == (c.viewer == .person(.connection) && !c.subject.hidesConnections)
        },
        Rule(statement: "PYM-04 a mutual connection is named only when the viewer may see the name") { c in
            !c.view.namedAsMutualConnection || c.subject.audience(of: .displayName) != .onlyMe
        },
        Rule(statement: "CON-05 found by phone number only when discoverable, and only by another person") { c in
            c.view.byPhoneNumber
                == (c.subject.discoverableByPhone && [.person(.other), .person(.connection)].contains(c.viewer))
        },
        Rule(statement: "MSG-01 every endorsement only to the subject themself and operators") { c in
            (c.view.endorsements == .full) == [.subjectThemself, .operator].contains(c.viewer)
        },
        Rule(statement: "MSG-01 others see endorsement counts only when the subject shows them") { c in
            c.view.endorsements == .notShown || c.subject.showsEndorsements || c.viewer == .operator
                || c.viewer.relationship == .selfView
        },
        Rule(statement: "settings only to the subject themself and operators") { c in
            c.view.settings == [.subjectThemself, .operator].contains(c.viewer)
        },
        Rule(statement: "API-02 an app never sees more than the person it acts for") { c in
            guard case .app(_, let relationship) = c.viewer else { return true }
            return c.view.isWithin(AccessPolicy.admitted(to: .person(relationship), of: c.subject))
        },
        Rule(statement: "API-02 an app sees exactly the person's fields within approved ∩ granted scopes") { c in
            guard case .app(let app, let relationship) = c.viewer else { return true }
            let person = AccessPolicy.admitted(to: .person(relationship), of: c.subject)
            let scoped = person.fields.filter {
                app.approvedScopes.contains($0.scope) && app.grantedScopes.contains($0.scope)
            }
            return c.view.fields == scoped
        },
        Rule(statement: "API-02 an app sees a connection list only with connections.read approved and granted") { c in
            guard case .app(let app, _) = c.viewer, c.view.connectionList else { return true }
            return app.approvedScopes.contains(.connectionsRead) && app.grantedScopes.contains(.connectionsRead)
        },
        Rule(statement: "API-02 an app sees endorsements only with endorsements.read, and never who gave them") { c in
            guard case .app(let app, _) = c.viewer, c.view.endorsements != .notShown else { return true }
            return app.allows(.endorsementsRead) && c.view.endorsements == .counts
        },
        Rule(statement: "PYM-04 CON-05 no app gets suggestions, mutual connections or phone matching") { c in
            guard case .app = c.viewer else { return true }
            return !c.view.asSuggestion && !c.view.asMutualConnection && !c.view.byPhoneNumber
        },
        Rule(statement: "SEC-02 API-05 operator and app reads are logged one by one; a person's reads are not") { c in
            switch c.viewer {
            case .person: !c.view.logsEachRead
            case .operator: c.view.logsEachRead
            case .app: c.view.logsEachRead == c.view.exists
            }
        },
        Rule(statement: "SEC-02 an operator's view depends on nothing but being an operator") { c in
            c.viewer != .operator || c.view == AccessPolicy.admitted(to: .operator, of: SubjectSettings())
        },
        Rule(statement: "the one-field check agrees with the whole view") { c in
            ProfileField.allCases.allSatisfy {
                AccessPolicy.admits($0, to: c.viewer, of: c.subject) == c.view.fields.contains($0)
            }
        },
        Rule(statement: "Profile.visible(to:) shows the policy's non-empty fields for a person") { c in
            guard case .person(let relationship) = c.viewer else { return true }
            let profile = Profile(
                values: Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, $0 == .city ? "" : "v") }),
                audiences: c.subject.audiences,
                hidesConnections: c.subject.hidesConnections
            )
            return Set(profile.visible(to: relationship).keys) == c.view.fields.subtracting([.city])
                && ProfileField.allCases.allSatisfy {
                    (profile.value($0, for: relationship) != nil) == c.view.fields.subtracting([.city]).contains($0)
                }
        },
    ]

    /// Viewer kind × relationship × settings: every viewer against every setting.
    static let crossProduct: [PolicyCase] = PolicyCase.viewers.flatMap { viewer in
        PolicyCase.settings.map { PolicyCase(viewer: viewer, subject: $0) }
    }

    @Test(
        "PYM-04 DSR-09 CON-05 GEN-05 API-02 every rule holds across viewer × relationship × setting",
        arguments: rules
    )
    func rule(_ rule: Rule) {
        #expect(Self.crossProduct.count == 105 * 96)
        let broken = Self.crossProduct.filter { !rule.holds($0) }
        let firstBroken = broken.first?.description
        #expect(firstBroken == nil, "\(broken.count) of \(Self.crossProduct.count) cases break the rule")
    }
}

/// One case of the cross product, with its admitted view computed once.
struct PolicyCase: Sendable, CustomStringConvertible {
    var viewer: Viewer
    var subject: SubjectSettings
    var view: AdmittedView

    init(viewer: Viewer, subject: SubjectSettings) {
        self.viewer = viewer
        self.subject = subject
        self.view = AccessPolicy.admitted(to: viewer, of: subject)
    }

    /// The subject's fields whose audience passes `test`.
    func fields(_ test: (Audience) -> Bool) -> Set<ProfileField> {
        Set(ProfileField.allCases.filter { test(subject.audience(of: $0)) })
    }

    static let relationships: [Relationship] = [.selfView, .connection, .other, .blocked]

    /// Scope sets to draw approved and granted from: none, basic, the profile, the lists, all.
    static let scopeSets: [Set<Scope>] = [
        [], [.profileBasic], [.profileBasic, .profileCareer, .profileEducation, .profileLocation],
        [.connectionsRead, .endorsementsRead], Set(Scope.allCases),
    ]

    /// A person in each relationship, an operator, and apps for each relationship with 5 × 5 scope pairs: 105.
    static let viewers: [Viewer] =
        relationships.map(Viewer.person) + [.operator]
        + relationships.flatMap { relationship in
            scopeSets.flatMap { approved in
                scopeSets.map { granted in
                    Viewer.app(
                        AppAuthorisation(approvedScopes: approved, grantedScopes: granted),
                        actingFor: relationship
                    )
                }
            }
        }

    /// Audience patterns: the defaults, all everyone, all connections, all only-me and two mixes.
    static let audiencePatterns: [[ProfileField: Audience]] = [
        [:],
        Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, .everyone) }),
        Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, .connections) }),
        Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, .onlyMe) }),
        Dictionary(
            uniqueKeysWithValues: ProfileField.allCases.enumerated().map { ($1, Audience.allCases[$0 % 3]) }
        ),
        Dictionary(
            uniqueKeysWithValues: ProfileField.allCases.enumerated().map { ($1, Audience.allCases[($0 + 1) % 3]) }
        ),
    ]

    /// Every audience pattern with every combination of the four switches: 6 × 16 = 96.
    static let settings: [SubjectSettings] = audiencePatterns.flatMap { audiences in
        (0..<16).map { bits in
            SubjectSettings(
                audiences: audiences,
                hidesConnections: bits & 1 != 0,
                suggestable: bits & 2 != 0,
                discoverableByPhone: bits & 4 != 0,
                showsEndorsements: bits & 8 != 0
            )
        }
    }

    var description: String { "\(viewer.label) reading \(subject.label) → \(view.label)" }
}

extension SubjectSettings {
    static let everythingPublic = SubjectSettings(
        audiences: Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, .everyone) }),
        discoverableByPhone: true
    )
    static let everythingPrivate = SubjectSettings(
        audiences: Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, .onlyMe) }),
        hidesConnections: true,
        suggestable: false,
        showsEndorsements: false
    )

    var label: String {
        let audiences = ProfileField.allCases.map { "\($0.rawValue)=\(audience(of: $0).rawValue)" }
        var switches: [String] = []
        if hidesConnections { switches.append("hidden list") }
        if !suggestable { switches.append("don't suggest me") }
        if discoverableByPhone { switches.append("discoverable") }
        if !showsEndorsements { switches.append("endorsements not shown") }
        return "[\(audiences.joined(separator: " "))" + (switches.isEmpty ? "" : "; ")
            + switches.joined(separator: ", ")
            + "]"
    }
}

extension Viewer {
    var label: String {
        switch self {
        case .person(let relationship): "person (\(relationship.rawValue))"
        case .operator: "operator"
        case .app(let app, let relationship):
            "app approved \(app.approvedScopes.sorted().map(\.rawValue)) granted "
                + "\(app.grantedScopes.sorted().map(\.rawValue)) for \(relationship.rawValue)"
        }
    }
}

extension AdmittedView {
    /// A view of a person who exists, with everything not named off.
    static func sees(
        _ fields: Set<ProfileField>,
        settings: Bool = false,
        list: Bool = false,
        endorsements: EndorsementAccess = .notShown,
        suggestion: Bool = false,
        mutual: Bool = false,
        phone: Bool = false,
        logged: Bool = false
    ) -> AdmittedView {
        AdmittedView(
            exists: true,
            fields: fields,
            settings: settings,
            connectionList: list,
            endorsements: endorsements,
            asSuggestion: suggestion,
            asMutualConnection: mutual,
            byPhoneNumber: phone,
            logsEachRead: logged
        )
    }

    var label: String {
        guard exists else { return "nothing" }
        var parts = ["fields \(fields.map(\.rawValue).sorted())", "endorsements \(endorsements)"]
        if settings { parts.append("settings") }
        if connectionList { parts.append("list") }
        if asSuggestion { parts.append("suggestion") }
        if asMutualConnection { parts.append("mutual") }
        if byPhoneNumber { parts.append("by phone") }
        if logsEachRead { parts.append("logged") }
        return parts.joined(separator: ", ")
    }
}
