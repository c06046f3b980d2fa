/// A signed-in person and the session they act in.
public struct SignedInUser: Sendable, Equatable {
    public var user: UserID
    /// A reference to the session for the log: a prefix of the token hash, never the token.
    public var sessionRef: String

    public init(user: UserID, sessionRef: String) {
        self.user = user
        self.sessionRef = sessionRef
    }
}

/// Who is asking, as the store's capability services and the access policy see it.
///
/// A person acts for themself; an operator acts for the processor and every one of their reads of
/// personal data is a logged act (SEC-02); an app client (the open platform, later) acts for a person
/// within the scopes both approved for the client and granted by that person.
public enum Principal: Sendable, Equatable {
    case user(SignedInUser)
    case `operator`(name: String)
    /// A partner that refers people with referral codes and sees only how many signed up (ACC-05).
    case partner(name: String)

    /// The person behind a user principal.
    public var signedInUser: SignedInUser? {
        if case .user(let signedIn) = self { return signedIn }
        return nil
    }

    /// The actor the processing log records for acts of this principal.
    public var actor: Actor {
        switch self {
        case .user(let signedIn): .user(signedIn.user)
        case .operator(let name): .operator(name)
        case .partner(let name): .partner(name)
        }
    }
}
