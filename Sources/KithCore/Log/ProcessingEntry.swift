import Foundation

/// How a processing act came about: the evidence that a person (or a named system duty) initiated it.
///
/// This is what the platform in Wang v. Maimai could not produce (ACC-11, MSG-04).
public struct Initiation: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A person's own request through the API; `request` is its request ID.
        case userRequest = "user-request"
        /// An operator's command (migration, retention sweep, verification).
        case operatorCommand = "operator-command"
        /// A scheduled duty of the system itself (retention sweeps).
        case system
    }

    public var kind: Kind
    /// The API operation or command that caused the processing (`verifyPhone`).
    public var action: String
    /// The request ID (or command run ID).
    public var request: String?
    /// A reference to the session that made the request: `sess:` and the first 16 hex digits of the
    /// SHA-256 of its token, as `sessions.token_hash` keeps it (never the token itself, which is 32
    /// random bytes).
    public var session: String?

    public init(kind: Kind, action: String, request: String? = nil, session: String? = nil) {
        self.kind = kind
        self.action = action
        self.request = request
        self.session = session
    }
}

/// One entry of the processing log (SEC-01, SEC-08, ACC-11): who processed whose information, for which
/// purpose, on which basis, caused by what.
///
/// People appear only as pseudonyms derived from per-subject keys, so destroying a person's key on
/// erasure makes their entries unlinkable while the hash chain still verifies. `detail` is fixed text
/// with counts, never personal data ("1000 numbers matched 12 accounts").
public struct ProcessingEntry: Codable, Sendable, Equatable {
    public var seq: Int
    /// Milliseconds since 1970.
    public var at: Int64
    public var actor: String
    public var subject: String?
    public var purpose: PurposeID
    public var basis: LegalBasis
    /// The consent record (or other basis record) the gate found.
    public var basisRef: String?
    public var initiation: Initiation
    public var detail: String
    /// Evidence bound into the chain with the act (ACC-11): absent from entries that carry none, so
    /// their canonical bytes are what they always were.
    public var evidence: [String: String]?

    public init(
        seq: Int,
        at: Int64,
        actor: String,
        subject: String?,
        purpose: PurposeID,
        basis: LegalBasis,
        basisRef: String?,
        initiation: Initiation,
        detail: String,
        evidence: [String: String]? = nil
    ) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.subject = subject
        self.purpose = purpose
        self.basis = basis
        self.basisRef = basisRef
        self.initiation = initiation
        self.detail = detail
        self.evidence = evidence
    }

    /// The canonical bytes that are hashed into the Merkle tree: JSON with sorted keys.
    public func canonicalJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a value made of strings and integers cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// The evidence reference other records (messages, receipts) carry: `log:<seq>`.
    public var reference: String { "log:\(seq)" }
}
