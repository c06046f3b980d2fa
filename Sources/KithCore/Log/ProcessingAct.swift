/// Who performs a processing act.
public enum Actor: Sendable, Equatable {
    case user(UserID)
    /// Someone not signed in (a sign-up in progress, a non-user's opt-out).
    case anonymous
    case `operator`(String)
    /// A partner (an offline store that refers people, ACC-05): it creates referral codes and reads their
    /// counts, and processes no one's data.
    case partner(String)
    case system
}

/// A processing of personal information, as the gate sees it before allowing it.
public struct ProcessingAct: Sendable {
    public var purpose: PurposeID
    public var actor: Actor
    /// Whose information is processed.
    public var subject: UserID?
    /// Whose consent the act rests on when the purpose's basis is consent; defaults to the subject.
    public var consentOf: UserID?
    public var initiation: Initiation
    /// Fixed text with counts, never personal data.
    public var detail: String
    /// Evidence recorded inside the chained entry (a consent's notice version, locale, text hash and the
    /// control's initial state; the notice version shown at sign-up), so editing a mutable row afterwards
    /// is detected by log verification (ACC-11). Keys and values are fixed vocabulary, never personal data.
    public var evidence: [String: String]?
    /// What the act does to the data; the gate derives the legal basis from it and the purpose.
    public var effect: Effect

    /// What an act does to the data.
    public enum Effect: String, Sendable {
        /// Collecting, using, deriving or sending: rests on the purpose's basis.
        case processing
        /// Deleting the subject's own data at their request: always allowed, whatever consent is left, on
        /// the processor's duty to delete (PIPL 47, DSR-04).
        case erasure
    }

    public init(
        purpose: PurposeID,
        actor: Actor,
        subject: UserID?,
        consentOf: UserID? = nil,
        initiation: Initiation,
        detail: String,
        evidence: [String: String]? = nil,
        effect: Effect = .processing
    ) {
        self.purpose = purpose
        self.actor = actor
        self.subject = subject
        self.consentOf = consentOf ?? subject
        self.initiation = initiation
        self.detail = detail
        self.evidence = evidence
        self.effect = effect
    }

    /// An act a person does on their own information, for themself.
    public static func own(
        _ purpose: PurposeID,
        by user: UserID,
        initiation: Initiation,
        detail: String
    ) -> ProcessingAct {
        ProcessingAct(purpose: purpose, actor: .user(user), subject: user, initiation: initiation, detail: detail)
    }

    /// The same act recorded about another person: the related subject of an act done by one person
    /// about another (an endorsement, a block, a connection request), so that person's own entries show
    /// what was done about them.
    public func about(_ related: UserID, detail: String) -> ProcessingAct {
        var act = self
        act.subject = related
        act.consentOf = consentOf
        act.detail = detail
        return act
    }
}
