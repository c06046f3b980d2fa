/// The fields of a profile, each with its own audience.
public enum ProfileField: String, Codable, Sendable, CaseIterable, CodingKeyRepresentable {
    case displayName
    case headline
    case employer
    case school
    case city
    case avatarURL

    /// The most characters a value may have.
    public var maximumLength: Int {
        switch self {
        case .displayName: 64
        case .headline: 160
        case .employer, .school, .city: 100
        case .avatarURL: 512
        }
    }

    /// Career and education are shown to connections only until the person chooses otherwise (Weibo v. Maimai).
    public var defaultAudience: Audience {
        switch self {
        case .employer, .school: .connections
        default: .everyone
        }
    }
}

/// Who may see a profile field.
public enum Audience: String, Codable, Sendable, CaseIterable {
    case everyone
    case connections
    case onlyMe = "only-me"

    /// Whether a viewer standing in `relationship` to the owner sees a field with this audience.
    public func admits(_ relationship: Relationship) -> Bool {
        switch (self, relationship) {
        case (_, .blocked): false
        case (_, .selfView): true
        case (.everyone, _): true
        case (.connections, .connection): true
        default: false
        }
    }
}

/// How a viewer stands to the person whose data is read.
public enum Relationship: String, Codable, Sendable {
    case selfView = "self"
    case connection
    case other
    /// Either blocked the other: they see nothing of each other.
    case blocked
}

/// A person's profile as stored: values and each field's audience.
public struct Profile: Sendable, Equatable {
    public var values: [ProfileField: String]
    public var audiences: [ProfileField: Audience]
    /// Whether the person hides their connection list from everyone else (PYM-04, issue 4 §2).
    public var hidesConnections: Bool

    public init(
        values: [ProfileField: String] = [:],
        audiences: [ProfileField: Audience] = [:],
        hidesConnections: Bool = false
    ) {
        self.values = values
        self.audiences = audiences
        self.hidesConnections = hidesConnections
    }

    public func audience(of field: ProfileField) -> Audience { audiences[field] ?? field.defaultAudience }

    /// The fields a person standing in `relationship` may see, nothing else: the ``AccessPolicy``'s answer
    /// for ``Viewer/person(_:)``.
    public func visible(to relationship: Relationship) -> [ProfileField: String] {
        visible(through: AccessPolicy.admitted(to: .person(relationship), of: SubjectSettings(self)))
    }

    /// A field's value when a person standing in `relationship` may see it (the ``AccessPolicy``'s answer).
    public func value(_ field: ProfileField, for relationship: Relationship) -> String? {
        guard let value = values[field], !value.isEmpty,
            AccessPolicy.admits(field, to: .person(relationship), of: SubjectSettings(self))
        else { return nil }
        return value
    }

    /// The form an employer or school is compared in: case-folded, with runs of spaces collapsed.
    public static func matchKey(_ value: String) -> String {
        value.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
