/// What an app client of the open platform may ask for on a person's behalf: the scope catalogue (API-02).
///
/// A scope reaches data only through the ``AccessPolicy``: it narrows what the person the app acts for
/// may see, it never widens it. Career and education have scopes of their own, apart from the basic
/// profile (API-02, Weibo v. Maimai). No scope reaches suggestions, the second degree or phone-number
/// matching: those are derivations about third parties made for the person inside Kith (PYM-01..04,
/// CON-05), not data to hand to an app. Every ``ProfileField`` names exactly one scope
/// (``ProfileField/scope``), so a new field cannot be added without deciding which scope reveals it.
public enum Scope: String, Codable, Sendable, CaseIterable, Comparable {
    /// Display name, headline and avatar.
    case profileBasic = "profile.basic"
    /// The employer (API-02: career needs its own scope).
    case profileCareer = "profile.career"
    /// The school (API-02: education needs its own scope).
    case profileEducation = "profile.education"
    /// The city (LOC-05: a location is shown only as its owner allows).
    case profileLocation = "profile.location"
    /// The connection lists the person may see, and the counts taken from them.
    case connectionsRead = "connections.read"
    /// The endorsement tags on profiles the person may see, counted; never who endorsed whom.
    case endorsementsRead = "endorsements.read"

    /// The profile fields this scope reveals (where the person's own view admits them).
    public var fields: Set<ProfileField> { Set(ProfileField.allCases.filter { $0.scope == self }) }

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension ProfileField {
    /// The one scope an app client needs before it may read this field (API-02).
    public var scope: Scope {
        switch self {
        case .displayName, .headline, .avatarURL: .profileBasic
        case .employer: .profileCareer
        case .school: .profileEducation
        case .city: .profileLocation
        }
    }
}

/// The scopes an app client holds for one person: triple authorisation's second and third legs (API-02).
///
/// Kith approves a client for some scopes (the developer's registration, reviewed with its PIA, API-07);
/// the person grants the client some scopes on the consent screen. Only the scopes in both count
/// (``effectiveScopes``): a client approved for more than the person granted gets what was granted, a
/// grant of a scope Kith never approved gives nothing. The first leg — the person's consent to Kith's
/// open-platform sharing at all — is checked when the token is issued, before a policy question arises.
public struct AppAuthorisation: Sendable, Hashable {
    /// The scopes Kith approved for the client.
    public var approvedScopes: Set<Scope>
    /// The scopes the person granted the client.
    public var grantedScopes: Set<Scope>

    public init(approvedScopes: Set<Scope>, grantedScopes: Set<Scope>) {
        self.approvedScopes = approvedScopes
        self.grantedScopes = grantedScopes
    }

    /// The scopes that count: approved for the client *and* granted by the person.
    public var effectiveScopes: Set<Scope> { approvedScopes.intersection(grantedScopes) }

    /// Whether a scope counts.
    public func allows(_ scope: Scope) -> Bool { approvedScopes.contains(scope) && grantedScopes.contains(scope) }

    /// The profile fields the effective scopes reveal.
    public var fields: Set<ProfileField> { Set(ProfileField.allCases.filter { allows($0.scope) }) }
}
