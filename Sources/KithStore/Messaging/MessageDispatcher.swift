import Crypto
import Foundation
import KithCore
import SQLKit

/// A message for a phone: what the SMS provider receives.
public struct OutboundMessage: Sendable {
    /// The `outbound_messages` record (`getMessageEvidence` finds the authorising act by it).
    public var id: String
    public var to: PhoneNumber
    public var body: String
    public var kind: MessageKind
    /// The sender ID it goes out under (MSG-07).
    public var sender: String { kind.sender }
    /// The processing-log entry that authorised this message (`log:<seq>`, MSG-04).
    public var evidence: String
}

/// The edge of the world where messages leave Kith: an SMS provider, or the development outbox.
public protocol MessageGateway: Sendable {
    func deliver(_ message: OutboundMessage, sentAt: Int64) async throws
}

/// A message the store authorised inside the transaction of the act that caused it, ready to send.
///
/// Only the store makes one (its initialiser is internal): outside KithStore a message can be sent only
/// as the logged act authorised it.
public struct AuthorisedMessage: Sendable {
    /// The `outbound_messages` record.
    public let id: String
    let to: PhoneNumber
    let template: MessageTemplate
    let logSeq: Int

    init(id: String, to: PhoneNumber, template: MessageTemplate, logSeq: Int) {
        self.id = id
        self.to = to
        self.template = template
        self.logSeq = logSeq
    }
}

/// Binds every outbound message to the logged act that caused it, and sends only what is bound
/// (MSG-04, Wang v. Maimai): the authorising entry's purpose fits the kind, its chained evidence names
/// this message and the digest of this exact text, and the message record names this recipient.
public struct MessageDispatcher: Sendable {
    let gateway: any MessageGateway
    let store: KithStore

    public init(gateway: any MessageGateway, store: KithStore) {
        self.gateway = gateway
        self.store = store
    }

    /// How long an authorised message may wait to be sent: its recipient's blind index is kept no longer.
    static let recipientLifetimeMillis: Int64 = 3_600_000

    /// The digest of a message body: keyed, because a transactional body holds a code that a plain
    /// SHA-256 would give away to anyone reading the log or the table.
    static func bodyDigest(_ body: String, store: KithStore) -> String { store.vault.keyedDigest("message-body", body) }

    /// What the authorising act's entry must carry, inside the chain, for a message.
    static func evidence(messageID: String, template: MessageTemplate, store: KithStore) -> [String: String] {
        [
            "messageId": messageID, "messageKind": template.kind.rawValue,
            "bodyDigest": bodyDigest(template.body, store: store),
        ]
    }

    /// Authorises a message in the caller's transaction: logs `act` with the message's evidence and
    /// records the message under that entry.
    static func authorise(
        _ template: MessageTemplate,
        to phone: PhoneNumber,
        by act: ProcessingAct,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws -> (AuthorisedMessage, ProcessingEntry) {
        guard template.kind.authorisingPurposes.contains(act.purpose) else {
            throw KithError(.internalError, detail: "This act may not authorise this kind of message.")
        }
        // MSG-07: a code template carries a code and nothing else.
        guard template.isWellFormed else {
            throw KithError(.internalError, detail: "A message whose values its template does not allow is never sent.")
        }
        let id = "m_" + Random.token(16)
        var act = act
        act.evidence = (act.evidence ?? [:]).merging(evidence(messageID: id, template: template, store: store)) { $1 }
        let entry = try await ProcessingGate.record([act], store: store, on: sql)[0]
        let now = store.clock.nowMillis
        try await sql.raw(
            """
            INSERT INTO outbound_messages (id, kind, purpose, body_digest, log_seq, subject_id, created_at, sent_at)
            VALUES (\(bind: id), \(bind: template.kind.rawValue), \(bind: act.purpose.rawValue),
                \(bind: bodyDigest(template.body, store: store)), \(bind: entry.seq), \(bind: act.subject?.rawValue),
                \(bind: now), NULL)
            """
        ).run()
        try await sql.raw(
            """
            INSERT INTO message_recipients (message_id, recipient_index, expires_at)
            VALUES (\(bind: id), \(bind: store.vault.blindIndex(phone)), \(bind: now + recipientLifetimeMillis))
            """
        ).run()
        return (AuthorisedMessage(id: id, to: phone, template: template, logSeq: entry.seq), entry)
    }

    /// Sends an authorised message once, after checking its binding; anything that does not match is
    /// refused and never reaches the gateway.
    ///
    /// - Throws: `forbidden` when the record, the entry, the kind, the recipient or the text do not match,
    ///   or the message was already sent.
    public func send(_ message: AuthorisedMessage) async throws {
        let store = self.store
        let body = message.template.body
        let digest = Self.bodyDigest(body, store: store)
        let recipient = store.vault.blindIndex(message.to)
        let refused = KithError(.forbidden, detail: "A message not bound to the act that authorised it is never sent.")
        let now = store.clock.nowMillis
        // The authorising entry is read and decoded before the write: the log is append-only, so the
        // entry at the message's claimed sequence number cannot change, and the transaction below checks
        // that the message's record names that very number.
        let logged = try await store.database.read { sql in
            try await sql.raw("SELECT entry FROM processing_log WHERE seq = \(bind: message.logSeq)").first()?
                .decode(column: "entry", as: String.self)
        }
        guard let logged, let entry = try? JSONDecoder().decode(ProcessingEntry.self, from: Data(logged.utf8)) else {
            throw refused
        }
        try await store.database.transaction { sql in
            guard
                let row = try await sql.raw(
                    """
                    SELECT outbound_messages.kind AS kind, outbound_messages.purpose AS purpose,
                        message_recipients.recipient_index AS recipient_index, outbound_messages.body_digest AS body_digest,
                        outbound_messages.log_seq AS log_seq, outbound_messages.sent_at AS sent_at,
                        outbound_messages.subject_id AS subject_id
                    FROM outbound_messages JOIN message_recipients ON message_recipients.message_id = outbound_messages.id
                    WHERE outbound_messages.id = \(bind: message.id) AND message_recipients.expires_at > \(bind: now)
                    """
                ).first()
            else { throw refused }
            let kind = message.template.kind
            guard try row.decode(column: "sent_at", as: Int64?.self) == nil,
                try row.decode(column: "log_seq", as: Int.self) == message.logSeq,
                try row.decode(column: "kind", as: String.self) == kind.rawValue,
                kind.authorisingPurposes.contains(entry.purpose),
                try row.decode(column: "purpose", as: String.self) == entry.purpose.rawValue,
                constantTimeEqual(try row.decode(column: "recipient_index", as: String.self), recipient),
                constantTimeEqual(try row.decode(column: "body_digest", as: String.self), digest),
                entry.evidence?["messageId"] == message.id,
                entry.evidence?["messageKind"] == kind.rawValue,
                entry.evidence.flatMap({ $0["bodyDigest"] }).map({ constantTimeEqual($0, digest) }) == true
            else { throw refused }
            // MSG-06: unsubscribing works at once, for marketing authorised before it too.
            if kind == .marketing {
                guard let subject = try row.decode(column: "subject_id", as: String?.self),
                    try await ConsentLedger(store: store).currentID(.marketing, of: UserID(rawValue: subject), on: sql)
                        != nil
                else { throw refused }
            }
            try await sql.raw("UPDATE outbound_messages SET sent_at = \(bind: now) WHERE id = \(bind: message.id)")
                .run()
            // Sent: the recipient's keyed hash is needed no longer (SEC-05).
            try await sql.raw("DELETE FROM message_recipients WHERE message_id = \(bind: message.id)").run()
        }
        // Marked sent before delivery: a crash in between loses one code (the person asks again) rather
        // than letting one authorisation send twice.
        try await gateway.deliver(
            OutboundMessage(
                id: message.id,
                to: message.to,
                body: body,
                kind: message.template.kind,
                evidence: "log:\(message.logSeq)"
            ),
            sentAt: now
        )
    }
}
