/// The choices a person made about what others may see of them: the subject's half of the ``AccessPolicy``.
///
/// Every read of a person — by another person, by suggestions, by an app — is filtered by these, not only
/// by the reader's rights ("visibility ∩ consent ∩ scope").
public struct SubjectSettings: Sendable, Hashable {
    /// Each field's audience; a field not named here has its ``ProfileField/defaultAudience``.
    public var audiences: [ProfileField: Audience]
    /// The connection list is shown to nobody else (PYM-04, issue 4 §2); it also stops the person being
    /// used as a path to, counted as or named as a mutual connection.
    public var hidesConnections: Bool
    /// False when the person said "don't suggest me" (DSR-09): never a suggestion and never in a
    /// stranger's second degree.
    public var suggestable: Bool
    /// Whether people who have the person's number may find them from their contacts, and so be told
    /// "you have their number" (CON-05). The `discoverable-by-phone` consent, read by the store.
    public var discoverableByPhone: Bool
    /// Whether the endorsement tags on the person's profile are shown to others, counted (MSG-01).
    public var showsEndorsements: Bool

    /// - Parameters:
    ///   - audiences: each field's audience; missing fields keep their default.
    ///   - hidesConnections: the connection list is the person's alone; default `false`.
    ///   - suggestable: the person may be suggested; default `true`, "don't suggest me" is `false`.
    ///   - discoverableByPhone: the person holds the `discoverable-by-phone` consent; default `false`
    ///     (a consent is never presumed).
    ///   - showsEndorsements: endorsement counts are shown to others; default `true`.
    public init(
        audiences: [ProfileField: Audience] = [:],
        hidesConnections: Bool = false,
        suggestable: Bool = true,
        discoverableByPhone: Bool = false,
        showsEndorsements: Bool = true
    ) {
        self.audiences = audiences
        self.hidesConnections = hidesConnections
        self.suggestable = suggestable
        self.discoverableByPhone = discoverableByPhone
        self.showsEndorsements = showsEndorsements
    }

    /// The settings kept on a profile, with the switches the store keeps elsewhere.
    public init(
        _ profile: Profile,
        suggestable: Bool = true,
        discoverableByPhone: Bool = false,
        showsEndorsements: Bool = true
    ) {
        self.init(
            audiences: profile.audiences,
            hidesConnections: profile.hidesConnections,
            suggestable: suggestable,
            discoverableByPhone: discoverableByPhone,
            showsEndorsements: showsEndorsements
        )
    }

    /// The audience a field has now.
    public func audience(of field: ProfileField) -> Audience { audiences[field] ?? field.defaultAudience }
}
