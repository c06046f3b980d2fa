/// The one access policy: what a viewer may see of a person, decided from values alone (no I/O).
///
/// What is admitted is the intersection of the subject's field audiences and switches
/// (``SubjectSettings``), the relationship (``Relationship``) and, for an app client, the scopes approved
/// for the client and granted by the person it acts for (``AppAuthorisation``). Every read of another
/// person — a profile, a connection list, suggestions and their reasons, the second degree, endorsements,
/// and later the open platform's API — asks this policy and shows no more than it admits.
///
/// The rules, by viewer:
///
/// - **Blocked either way** (any viewer but an operator): nothing, answered exactly as for a person who
///   does not exist (issue 4 §2, GEN-05).
/// - **The subject themself:** everything — every field whatever its audience, their settings, their own
///   connection list even when hidden, every endorsement. Never a suggestion or a mutual connection to
///   themself.
/// - **Another person:** the fields whose audience admits the relationship (`everyone`; `connections` for a
///   connection; never `only-me`). The connection list only to a connection, and to nobody when hidden
///   (PYM-04). Endorsements counted when the subject shows them. A suggestion or second-degree entry only
///   for a stranger, and never when the subject said "don't suggest me" (DSR-09). A mutual connection or
///   via-person only when the subject is the viewer's connection and does not hide their list (PYM-04).
///   Found by phone number only when the subject is discoverable (CON-05). Not logged read by read.
/// - **An operator** (Kith staff, through the operator's own route, where each read is logged with the
///   operator's name, SEC-02, SEC-08): the profile as stored — every field whatever its audience — and the
///   subject's settings, because handling a report or a complaint means seeing what the reporter may have
///   seen and why; every endorsement, because a tag is where abuse gets reported (the Maimai SMS case
///   began with one, MSG-01). Not the connection list: it is other people's data too, and no operator
///   task needs it (least privilege, SEC-02). Never suggestions, mutuals or phone matching: those are the
///   person's features, not staff tools. A block between users does not hide a person from an operator.
/// - **An app client** acting for a person: what that person would see, narrowed by the client's
///   effective scopes (approved ∩ granted, API-02) — the app never sees more than the person it acts for.
///   Fields need their field's scope; the connection list needs `connections.read`; endorsements need
///   `endorsements.read` and are at most counted (an endorser never authorised the app). Never settings,
///   suggestions, mutuals or phone matching. Every read is logged (API-05).
public enum AccessPolicy {
    /// What `viewer` may see of a person whose settings are `subject`.
    ///
    /// - Parameters:
    ///   - viewer: who reads, and how they (or the person an app acts for) stand to the subject.
    ///   - subject: the subject's own choices.
    /// - Returns: what a read may show; ``AdmittedView/nothing`` across a block.
    public static func admitted(to viewer: Viewer, of subject: SubjectSettings) -> AdmittedView {
        switch viewer {
        case .person(let relationship):
            personal(relationship, subject)
        case .operator:
            AdmittedView(
                exists: true,
                fields: Set(ProfileField.allCases),
                settings: true,
                connectionList: false,
                endorsements: .full,
                asSuggestion: false,
                asMutualConnection: false,
                byPhoneNumber: false,
                logsEachRead: true
            )
        case .app(let authorisation, let relationship):
            narrowed(personal(relationship, subject), to: authorisation)
        }
    }

    /// Whether `viewer` may see one profile field of a person whose settings are `subject`: the field part
    /// of ``admitted(to:of:)``, without building the whole view (for hot paths that read one field of many
    /// people, such as naming mutual connections).
    public static func admits(_ field: ProfileField, to viewer: Viewer, of subject: SubjectSettings) -> Bool {
        switch viewer {
        case .person(let relationship): subject.audience(of: field).admits(relationship)
        case .operator: true
        case .app(let authorisation, let relationship):
            authorisation.allows(field.scope) && subject.audience(of: field).admits(relationship)
        }
    }

    /// Whether a person may appear among the suggestions or in the second degree of a viewer standing in
    /// `relationship` to them (DSR-09): the ``AdmittedView/asSuggestion`` part of the policy, for the
    /// graph engine's hot path, which asks it of every candidate that would make the top k.
    public static func maySuggest(_ subject: SubjectSettings, to relationship: Relationship) -> Bool {
        relationship == .other && subject.suggestable
    }

    /// Whether a viewer's connection may be a path to, counted as or named as a mutual connection
    /// (PYM-04): the ``AdmittedView/asMutualConnection`` part of the policy, asked of each of the viewer's
    /// connections when ranking.
    public static func mayCountAsMutual(_ subject: SubjectSettings, for relationship: Relationship) -> Bool {
        relationship == .connection && !subject.hidesConnections
    }

    /// A person's view of another, standing in `relationship` (the subject themself for `.selfView`).
    static func personal(_ relationship: Relationship, _ subject: SubjectSettings) -> AdmittedView {
        switch relationship {
        case .blocked:
            return .nothing
        case .selfView:
            return AdmittedView(
                exists: true,
                fields: Set(ProfileField.allCases),
                settings: true,
                connectionList: true,
                endorsements: .full,
                asSuggestion: false,
                asMutualConnection: false,
                byPhoneNumber: false,
                logsEachRead: false
            )
        case .connection, .other:
            let connected = relationship == .connection
            return AdmittedView(
                exists: true,
                fields: Set(ProfileField.allCases.filter { admits($0, to: .person(relationship), of: subject) }),
                settings: false,
                connectionList: connected && !subject.hidesConnections,
                endorsements: subject.showsEndorsements ? .counts : .notShown,
                asSuggestion: maySuggest(subject, to: relationship),
                asMutualConnection: mayCountAsMutual(subject, for: relationship),
                byPhoneNumber: subject.discoverableByPhone,
                logsEachRead: false
            )
        }
    }

    /// What an app may see of what the person it acts for sees: only what its effective scopes reach.
    static func narrowed(_ view: AdmittedView, to authorisation: AppAuthorisation) -> AdmittedView {
        guard view.exists else { return .nothing }
        return AdmittedView(
            exists: true,
            fields: view.fields.intersection(authorisation.fields),
            settings: false,
            connectionList: view.connectionList && authorisation.allows(.connectionsRead),
            endorsements: authorisation.allows(.endorsementsRead) ? min(view.endorsements, .counts) : .notShown,
            asSuggestion: false,
            asMutualConnection: false,
            byPhoneNumber: false,
            logsEachRead: true
        )
    }
}
