/// Who reads a person's data, and how they stand to that person: what the ``AccessPolicy`` starts from.
///
/// A viewer carries no identity. The store decides the relationship (`self`, a connection, a block either
/// way, or none of these) and hands the policy the value; the policy never looks anything up.
public enum Viewer: Sendable, Hashable {
    /// A signed-in person reading in Kith for themself, standing in `relationship` to the subject.
    ///
    /// `.person(.selfView)` is the subject themself; `.person(.other)` is a stranger.
    case person(Relationship)
    /// Kith's own staff, reading through the operator's route, where every read is a logged act that names
    /// the operator (SEC-02, SEC-08). The relationship of users does not apply: an operator is nobody's connection
    /// and cannot be blocked.
    case `operator`
    /// An app client of the open platform, acting for a person who stands in `relationship` to the subject,
    /// within the scopes of its ``AppAuthorisation`` (API-02).
    case app(AppAuthorisation, actingFor: Relationship)

    /// The subject reading their own data.
    public static let subjectThemself = Viewer.person(.selfView)

    /// How the viewer, or the person an app acts for, stands to the subject; `nil` for an operator.
    public var relationship: Relationship? {
        switch self {
        case .person(let relationship), .app(_, let relationship): relationship
        case .operator: nil
        }
    }
}
