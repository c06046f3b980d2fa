import Crypto
import Foundation
import KithCore
import SQLKit

/// A new operator's credential: the bearer token is shown once and kept only as its hash.
public struct OperatorCredential: Sendable {
    public var name: String
    public var token: String
}

/// What an operator sees of one outbound message (MSG-04): the record, the logged act that authorised
/// it and that entry's RFC 6962 inclusion proof under a signed tree head, so the proof can be checked
/// with nothing but the log's public key. Never the recipient or the text.
public struct MessageEvidence: Codable, Sendable {
    public var messageId: String
    public var kind: String
    public var purpose: String
    public var createdAt: Int64
    public var sentAt: Int64?
    /// The keyed digest of the text sent.
    public var bodyDigest: String
    /// The authorising entry as chained.
    public var entry: ProcessingEntry
    public var proof: InclusionProof
    public var treeHead: SignedTreeHead
}

/// Operators: the processor's staff, who authenticate apart from users and whose every read of personal
/// data is a logged act (SEC-02, SEC-08).
public struct Operators: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    /// Creates an operator and logs it.
    ///
    /// - Parameter name: `[a-z0-9._-]`, 2–64 characters: a role or staff handle, shown in every entry the
    ///   operator causes.
    /// - Returns: the credential, whose token is shown now and never again.
    /// - Throws: `invalid-field` (`name`) for a bad name; `conflict` when the name is taken.
    public func create(name: String, initiation: Initiation) async throws -> OperatorCredential {
        try Self.checkName(name, of: "An operator")
        let token = "kop_" + Random.token(32)
        let hash = Self.hash(token)
        let store = self.store
        let act = ProcessingAct(
            purpose: .securityLog,
            actor: .system,
            subject: nil,
            initiation: initiation,
            detail: "operator created"
        )
        _ = try await store.gate.perform(act) { sql in
            if try await sql.raw("SELECT name FROM operators WHERE name = \(bind: name)").first() != nil {
                throw KithError(.conflict, field: "name", detail: "An operator with this name exists.")
            }
            try await sql.raw(
                "INSERT INTO operators (name, secret_hash, created_at, evidence) VALUES (\(bind: name), \(bind: hash), \(bind: store.clock.nowMillis), 'operator-create')"
            ).run()
        }
        return OperatorCredential(name: name, token: token)
    }

    /// The operator behind a bearer token, or `nil`.
    public func authenticate(token: String) async throws -> String? {
        try await Self.name(forToken: token, prefix: "kop_", in: "operators", store: store)
    }

    static func hash(_ token: String) -> String { SHA256.hash(data: Array(token.utf8)).hexString }

    /// The rule for the name of a principal that signs in apart from users (an operator, a partner):
    /// `[a-z0-9._-]`, 2–64 characters, shown in what it does.
    /// - Throws: `invalid-field` (`name`), the message starting with `what`.
    static func checkName(_ name: String, of what: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        guard (2...64).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw KithError.invalid("name", "\(what) name has 2–64 characters from a–z, 0–9, '.', '_' and '-'.")
        }
    }

    /// The name in `table` (`name`, `secret_hash`) whose token is `token`, or `nil`; a token without
    /// `prefix` is not even looked up.
    static func name(
        forToken token: String,
        prefix: String,
        in table: String,
        store: KithStore
    ) async throws
        -> String?
    {
        guard token.hasPrefix(prefix) else { return nil }
        let hash = Self.hash(token)
        return try await store.database.read { sql in
            try await sql.raw("SELECT name FROM \(ident: table) WHERE secret_hash = \(bind: hash)").first()
                .map { try $0.decode(column: "name", as: String.self) }
        }
    }

    /// The evidence of one message, read by an operator: logged as an act of that operator about the
    /// message's subject (SEC-02) before it is handed over.
    ///
    /// - Throws: `not-found` for an unknown message.
    public func messageEvidence(
        _ messageID: String,
        by operatorName: String,
        initiation: Initiation
    ) async throws -> MessageEvidence {
        let row = try await store.database.read { sql in
            try await sql.raw(
                """
                SELECT kind, purpose, body_digest, log_seq, subject_id, created_at, sent_at FROM outbound_messages
                WHERE id = \(bind: messageID)
                """
            ).first()
        }
        guard let row else {
            throw KithError(.notFound, field: "messageId", detail: "There is no such message.")
        }
        let seq = try row.decode(column: "log_seq", as: Int.self)
        guard let (proof, head) = try await ProcessingLog.signedInclusionProof(seq: seq, on: store.database) else {
            throw KithError(.internalError, detail: "The message's evidence is not in the processing log.")
        }
        let entry = try JSONDecoder().decode(ProcessingEntry.self, from: Data(proof.entry.utf8))
        try await store.gate.record(
            ProcessingAct(
                purpose: .securityLog,
                actor: .operator(operatorName),
                subject: try row.decode(column: "subject_id", as: String?.self).map(UserID.init(rawValue:)),
                initiation: initiation,
                detail: "message evidence read by an operator"
            )
        )
        return MessageEvidence(
            messageId: messageID,
            kind: try row.decode(column: "kind", as: String.self),
            purpose: try row.decode(column: "purpose", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            sentAt: try row.decode(column: "sent_at", as: Int64?.self),
            bodyDigest: try row.decode(column: "body_digest", as: String.self),
            entry: entry,
            proof: proof,
            treeHead: head
        )
    }
}
