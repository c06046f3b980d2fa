/// What the ``AccessPolicy`` admits of one person for one viewer: everything a read may show, nothing else.
///
/// Each read of another person's data asks for this value and shows no more than it names. A value that
/// admits nothing (``nothing``) is what a block yields, and a caller answers it exactly as it answers for
/// a person who does not exist (`not-found`, ``KithError/Code``).
public struct AdmittedView: Sendable, Hashable {
    /// False across a block either way: the person does not exist for this viewer, and every other member
    /// is empty or false.
    public var exists: Bool
    /// The profile fields the viewer may see (empty values are still never shown). A suggestion reason
    /// may cite only these (PYM-04: "same employer" only where the employer is shown to the viewer).
    public var fields: Set<ProfileField>
    /// Whether the viewer sees the person's own settings: each field's audience, the hidden-list and
    /// suggestion switches.
    public var settings: Bool
    /// Whether the person's connection list may be shown, and any count taken from it (PYM-04).
    public var connectionList: Bool
    /// How much of the endorsements on the person's profile the viewer sees (MSG-01).
    public var endorsements: EndorsementAccess
    /// Whether the person may be suggested to the viewer, or listed in the viewer's second degree
    /// (DSR-09: "don't suggest me" keeps a person out of both).
    public var asSuggestion: Bool
    /// Whether the viewer's suggestions and second degree may go through the person: counted as a mutual
    /// connection, used as the path to a candidate, named in a reason when ``fields`` holds the name
    /// (PYM-04). Saying "A is a mutual connection" discloses part of A's connection list, so a hidden list
    /// rules it out.
    public var asMutualConnection: Bool
    /// Whether the person may be found from the viewer's contacts and a suggestion may say "you have their
    /// number" or "they have your number" (CON-05).
    public var byPhoneNumber: Bool
    /// Whether the read must be logged as an act of its own. False for a person reading what another chose
    /// to show them: the policy checks it, but a who-viewed-whom trail would itself be a new profile of
    /// people (PIPL art. 6). True for operators (SEC-02, SEC-08) and apps (API-05).
    public var logsEachRead: Bool

    public init(
        exists: Bool,
        fields: Set<ProfileField>,
        settings: Bool,
        connectionList: Bool,
        endorsements: EndorsementAccess,
        asSuggestion: Bool,
        asMutualConnection: Bool,
        byPhoneNumber: Bool,
        logsEachRead: Bool
    ) {
        self.exists = exists
        self.fields = fields
        self.settings = settings
        self.connectionList = connectionList
        self.endorsements = endorsements
        self.asSuggestion = asSuggestion
        self.asMutualConnection = asMutualConnection
        self.byPhoneNumber = byPhoneNumber
        self.logsEachRead = logsEachRead
    }

    /// Nothing at all: what a block yields, indistinguishable from a person who does not exist.
    public static let nothing = AdmittedView(
        exists: false,
        fields: [],
        settings: false,
        connectionList: false,
        endorsements: .notShown,
        asSuggestion: false,
        asMutualConnection: false,
        byPhoneNumber: false,
        logsEachRead: false
    )

    /// Whether the person may be named (not only counted) as a mutual connection or the person a
    /// suggestion came through: a path through them, and their name shown to the viewer.
    public var namedAsMutualConnection: Bool { asMutualConnection && fields.contains(.displayName) }

    /// Whether this view shows nothing that `other` does not: every field, switch and level at most as wide.
    /// Logging is left out: it is a duty of the reader, not something shown.
    public func isWithin(_ other: AdmittedView) -> Bool {
        (!exists || other.exists) && fields.isSubset(of: other.fields) && (!settings || other.settings)
            && (!connectionList || other.connectionList) && endorsements <= other.endorsements
            && (!asSuggestion || other.asSuggestion) && (!asMutualConnection || other.asMutualConnection)
            && (!byPhoneNumber || other.byPhoneNumber)
    }
}

/// How much of the endorsements on a person's profile a viewer sees (MSG-01), from least to most.
public enum EndorsementAccess: Int, Sendable, Hashable, Comparable, CaseIterable {
    /// None: blocked, or the person does not show them.
    case notShown
    /// The visible tags, counted, never attributed to who gave them.
    case counts
    /// Every endorsement with its endorser, hidden ones too: the person's own view.
    case full

    public static func < (lhs: EndorsementAccess, rhs: EndorsementAccess) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Profile {
    /// The values a viewer may see, through a view the ``AccessPolicy`` admitted.
    public func visible(through view: AdmittedView) -> [ProfileField: String] {
        values.filter { field, value in !value.isEmpty && view.fields.contains(field) }
    }
}
