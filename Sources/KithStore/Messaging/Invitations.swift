import Crypto
import Foundation
import KithCore
import SQLKit

/// How an invitation reaches its recipient (MSG-02).
public enum InvitationChannel: String, Codable, Sendable, CaseIterable {
    /// The text and link are handed back; the inviter's own phone sends them (the share sheet).
    case share
    /// Kith texts it, where the operator turned that on (``InvitationPolicy/sms``).
    case sms
}

/// What `previewInvitation` answers: the exact text and a token bound to it.
public struct InvitationPreview: Codable, Sendable {
    public var channel: InvitationChannel
    /// The exact text the recipient will get.
    public var text: String
    public var link: String
    /// SHA-256 of `text` (UTF-8), lower-case hex: what the log keeps of it.
    public var textSHA256: String
    /// Binds (inviter, recipient, text, channel, expiry); the only thing `sendInvitation` takes.
    public var previewToken: String
    public var expiresAt: Int64
}

/// An invitation as its inviter sees it: never the recipient's number.
public struct Invitation: Codable, Sendable, Equatable {
    public var invitationId: String
    public var channel: InvitationChannel
    public var textSHA256: String
    public var link: String
    public var sentAt: Int64
    /// The message Kith sent, for the SMS channel.
    public var messageId: String?
}

/// What `sendInvitation` answers: the record, and for the share channel the text to send.
public struct SentInvitation: Codable, Sendable {
    public var invitation: Invitation
    /// The previewed text, for the inviter's phone to send (share channel).
    public var text: String?
}

/// Who invited a person who signed up through the invitation's link.
public struct Inviter: Codable, Sendable, Equatable {
    public var userId: String
    public var displayName: String
}

/// Invitations that prove who sent them (MSG-01..05, CON-08; Wang v. Maimai).
///
/// One recipient at a time, after a preview of the exact text: the inviter's own display name, a link and
/// fixed words, nobody else's name, tag or count (MSG-03). The preview's token binds the inviter, the
/// recipient, the SHA-256 of the text, the channel and an expiry; sending needs that token only, and is a
/// logged act whose entry carries the preview's hash and the client's action ID (MSG-04). A number gets
/// at most one invitation in ``InvitationPolicy/perRecipientDays`` from anyone; an inviter at most
/// ``InvitationPolicy/perInviter`` a day; a number that opted out, was invited lately or belongs to an
/// account gets the same refusal (MSG-05, CON-08).
public struct Invitations: Sendable {
    let store: KithStore
    public let policy: InvitationPolicy

    public init(store: KithStore, policy: InvitationPolicy = InvitationPolicy()) {
        self.store = store
        self.policy = policy
    }

    /// The one refusal for a number that cannot be invited, whatever the reason (MSG-05, CON-08).
    public static let notInvitable = KithError(
        .notInvitable,
        detail: "This number cannot be invited now."
    )

    static let invalidToken = KithError.invalid("previewToken", "This preview is not valid any more; preview again.")

    /// What the preview token seals.
    struct Sealed: Codable {
        var version = 1
        var inviter: String
        var phone: String
        var channel: InvitationChannel
        var linkCode: String
        var textSHA256: String
        var expiresAt: Int64
    }

    /// The inviter's display name as the text shows it: their own words, on one line.
    static func inviterName(_ user: UserID, on sql: any SQLDatabase) async throws -> String {
        let name = try await sql.raw("SELECT display_name FROM profiles WHERE user_id = \(bind: user.rawValue)")
            .first()?.decode(column: "display_name", as: String?.self)
        let line = (name ?? "").split(whereSeparator: { $0.isWhitespace || $0.isNewline }).joined(separator: " ")
        guard !line.isEmpty else {
            throw KithError(
                .conflict,
                field: "displayName",
                detail: "Set a display name first: an invitation says who it is from."
            )
        }
        return line
    }

    func template(inviter: String, linkCode: String, channel: InvitationChannel) -> MessageTemplate {
        .invitation(inviter: inviter, link: policy.linkBase + linkCode, sms: channel == .sms)
    }

    /// Whether `phoneIndex` may be invited: no account has the number, it did not opt out, and nobody
    /// invited it within the window.
    func invitable(_ phoneIndex: String, now: Int64, on sql: any SQLDatabase) async throws -> Bool {
        let since = now - Int64(policy.perRecipientDays) * 86_400_000
        let row = try await sql.raw(
            """
            SELECT
                (SELECT COUNT(*) FROM users WHERE phone_index = \(bind: phoneIndex)) AS accounts,
                (SELECT COUNT(*) FROM number_suppressions WHERE phone_index = \(bind: phoneIndex)) AS suppressed,
                (SELECT COUNT(*) FROM invitation_recipients
                    WHERE recipient_index = \(bind: phoneIndex) AND invited_at > \(bind: since)) AS invited
            """
        ).first()
        guard let row else { return false }
        return try row.decode(column: "accounts", as: Int.self) == 0
            && row.decode(column: "suppressed", as: Int.self) == 0
            && row.decode(column: "invited", as: Int.self) == 0
    }

    /// The exact invitation `user` would send to `phone`, and a token to send it with (MSG-02, MSG-03).
    /// Logged as the inviter's act (the recipient's number is looked up, by its keyed index only).
    ///
    /// - Throws: `invalid-field` (`channel`) for SMS where the operator did not turn it on; `conflict`
    ///   (`displayName`) without a display name; `not-invitable` for a number that cannot be invited.
    public func preview(
        by user: UserID,
        to phone: PhoneNumber,
        channel: InvitationChannel,
        initiation: Initiation
    ) async throws -> InvitationPreview {
        guard channel == .share || policy.sms else {
            throw KithError.invalid("channel", "Kith does not text invitations here; use share.")
        }
        let store = self.store
        let index = store.vault.blindIndex(phone)
        let now = store.clock.nowMillis
        let service = self
        let (name, canInvite): (String, Bool) = try await store.database.read { sql in
            let name = try await Self.inviterName(user, on: sql)
            return (name, try await service.invitable(index, now: now, on: sql))
        }
        try await store.logDerivation(
            ProcessingAct.own(.invitations, by: user, initiation: initiation, detail: "invitation previewed")
        )
        guard canInvite else { throw Self.notInvitable }
        let linkCode = Random.token(12)
        let text = template(inviter: name, linkCode: linkCode, channel: channel).body
        let sealed = Sealed(
            inviter: user.rawValue,
            phone: phone.e164,
            channel: channel,
            linkCode: linkCode,
            textSHA256: text.sha256Hex,
            expiresAt: now + Int64(policy.previewLifetime) * 1000
        )
        let token = try store.vault.sealedBox(Array(try JSONEncoder().encode(sealed)))
        return InvitationPreview(
            channel: channel,
            text: text,
            link: policy.linkBase + linkCode,
            textSHA256: sealed.textSHA256,
            previewToken: token.base64URLString,
            expiresAt: sealed.expiresAt
        )
    }

    func open(_ token: String) -> Sealed? {
        guard let box = Data(base64URLEncoded: token), let plain = try? store.vault.open(box: box) else { return nil }
        return try? JSONDecoder().decode(Sealed.self, from: Data(plain))
    }

    /// Sends the invitation a preview showed (MSG-02, MSG-04, MSG-05): the inviter's act is logged with the
    /// preview's hash and `clientActionId`; on the SMS channel the message is authorised by that entry and
    /// its body is the previewed text, byte for byte. Nothing is written when it is refused.
    ///
    /// - Returns: the invitation, and the message to send after the commit (SMS channel).
    /// - Throws: `invalid-field` (`previewToken`) for a token that is not this inviter's, was altered or
    ///   expired; `conflict` (`previewToken`) when the text would differ from the preview (the display
    ///   name changed); `rate-limited` past the inviter's daily cap; `not-invitable` for a number that
    ///   cannot be invited (one answer for every reason).
    public func send(
        token: String,
        clientActionId: String?,
        by user: UserID,
        initiation: Initiation
    ) async throws -> (SentInvitation, AuthorisedMessage?) {
        let store = self.store
        let now = store.clock.nowMillis
        guard let sealed = open(token), sealed.version == 1, sealed.inviter == user.rawValue, sealed.expiresAt > now,
            case .success(let phone) = PhoneNumber.parseE164(sealed.phone)
        else { throw Self.invalidToken }
        guard sealed.channel == .share || policy.sms else {
            throw KithError.invalid("channel", "Kith does not text invitations here; use share.")
        }
        let index = store.vault.blindIndex(phone)
        let policy = self.policy
        let id = "inv_" + Random.token(16)
        let invitations = self
        return try await store.database.transaction { sql in
            let name = try await Self.inviterName(user, on: sql)
            let template = invitations.template(inviter: name, linkCode: sealed.linkCode, channel: sealed.channel)
            let text = template.body
            guard text.sha256Hex == sealed.textSHA256 else {
                throw KithError(
                    .conflict,
                    field: "previewToken",
                    detail: "The text would differ from the one previewed; preview again."
                )
            }
            _ = try await RateLimiter.take(
                "invitations:" + user.rawValue,
                limit: policy.perInviter,
                store: store,
                on: sql
            )
            guard try await invitations.invitable(index, now: now, on: sql) else { throw Self.notInvitable }
            try await sql.raw("DELETE FROM invitation_recipients WHERE recipient_index = \(bind: index)").run()
            guard
                try await sql.raw(
                    """
                    INSERT INTO invitation_recipients (recipient_index, link_code, invited_at)
                    VALUES (\(bind: index), \(bind: sealed.linkCode), \(bind: now))
                    ON CONFLICT DO NOTHING RETURNING recipient_index
                    """
                ).first() != nil
            else { throw Self.notInvitable }
            var evidence = ["invitationId": id, "previewSHA256": sealed.textSHA256, "channel": sealed.channel.rawValue]
            if let clientActionId { evidence["clientActionId"] = clientActionId }
            let act = ProcessingAct(
                purpose: .invitations,
                actor: .user(user),
                subject: user,
                initiation: initiation,
                detail: "invitation sent (\(sealed.channel.rawValue))",
                evidence: evidence
            )
            let message: AuthorisedMessage?
            let entry: ProcessingEntry
            if sealed.channel == .sms {
                let authorised = try await MessageDispatcher.authorise(
                    template,
                    to: phone,
                    by: act,
                    store: store,
                    on: sql
                )
                (message, entry) = (authorised.0, authorised.1)
            } else {
                (message, entry) = (nil, try await ProcessingGate.record([act], store: store, on: sql)[0])
            }
            try await sql.raw(
                """
                INSERT INTO invitations (id, inviter_id, channel, text_sha256, link_code, message_id, created_at, evidence)
                VALUES (\(bind: id), \(bind: user.rawValue), \(bind: sealed.channel.rawValue), \(bind: sealed.textSHA256),
                    \(bind: sealed.linkCode), \(bind: message?.id), \(bind: now), \(bind: entry.reference))
                """
            ).run()
            let invitation = Invitation(
                invitationId: id,
                channel: sealed.channel,
                textSHA256: sealed.textSHA256,
                link: policy.linkBase + sealed.linkCode,
                sentAt: now,
                messageId: message?.id
            )
            return (SentInvitation(invitation: invitation, text: sealed.channel == .share ? text : nil), message)
        }
    }

    /// The inviter's invitations of the window, newest first.
    public func list(of user: UserID) async throws -> [Invitation] {
        let linkBase = policy.linkBase
        return try await store.database.read { sql in
            try await sql.raw(
                """
                SELECT id, channel, text_sha256, link_code, message_id, created_at FROM invitations
                WHERE inviter_id = \(bind: user.rawValue) ORDER BY created_at DESC, id
                """
            ).all().map { row in
                Invitation(
                    invitationId: try row.decode(column: "id", as: String.self),
                    channel: InvitationChannel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .share,
                    textSHA256: try row.decode(column: "text_sha256", as: String.self),
                    link: linkBase + (try row.decode(column: "link_code", as: String.self)),
                    sentAt: try row.decode(column: "created_at", as: Int64.self),
                    messageId: try row.decode(column: "message_id", as: String?.self)
                )
            }
        }
    }

    /// The inviter of the invitation with `linkCode`, for `user`, who just signed up: only when that
    /// invitation of the window went to `user`'s own number (a link passed on names no one), and the
    /// inviter still has an account. Whether they connect is theirs: the app may offer
    /// `requestConnection`; nothing is connected here (MSG-02).
    public func inviter(ofLink linkCode: String, for user: UserID) async throws -> Inviter? {
        let since = store.clock.nowMillis - Int64(policy.perRecipientDays) * 86_400_000
        return try await store.database.read { sql in
            guard
                let row = try await sql.raw(
                    """
                    SELECT invitations.inviter_id AS inviter FROM invitations
                    JOIN invitation_recipients ON invitation_recipients.link_code = invitations.link_code
                    JOIN users ON users.phone_index = invitation_recipients.recipient_index
                    WHERE invitations.link_code = \(bind: linkCode) AND users.id = \(bind: user.rawValue)
                        AND invitations.created_at > \(bind: since)
                    """
                ).first()
            else { return nil }
            let inviter = UserID(rawValue: try row.decode(column: "inviter", as: String.self))
            guard let name = try? await Self.inviterName(inviter, on: sql) else { return nil }
            return Inviter(userId: inviter.rawValue, displayName: name)
        }
    }

    /// "Don't invite me again" from an invitation's link (CON-08, MSG-05): the invited number is suppressed,
    /// by its keyed index, for good. Logged under the duty to honour it; the entry names no one.
    /// - Throws: `not-found` (`linkCode`) for a link that is not an invitation of the window.
    public func optOut(linkCode: String, initiation: Initiation) async throws {
        let store = self.store
        _ = try await store.database.transaction { sql in
            guard
                let index = try await sql.raw(
                    "SELECT recipient_index FROM invitation_recipients WHERE link_code = \(bind: linkCode)"
                ).first()?.decode(column: "recipient_index", as: String.self)
            else { throw KithError(.notFound, field: "linkCode", detail: "There is no such invitation.") }
            try await NumberSuppressions.suppress(
                index,
                detail: "number suppressed from an invitation's link",
                initiation: initiation,
                store: store,
                on: sql
            )
        }
    }
}

/// Replies to Kith's messages, as the SMS provider's webhook hands them on (MSG-05, MSG-06, CON-08).
public struct InboundMessages: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    /// The `Kith-Signature` of `body` under the secret shared with the SMS provider: `sha256=` and the
    /// lower-case hex HMAC-SHA256 of the raw bytes.
    public static func signature(of body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + Data(mac).hexString
    }

    /// Whether `signature` is ``signature(of:secret:)``, compared in constant time; never without a secret.
    public static func signatureMatches(_ signature: String?, body: Data, secret: String?) -> Bool {
        guard let secret, !secret.isEmpty, let signature else { return false }
        return constantTimeEqual(signature, Self.signature(of: body, secret: secret))
    }

    /// The replies that mean "stop": STOP, TD, T, 退订, 回T退订, UNSUBSCRIBE, in any case and width, with
    /// spaces and punctuation around them.
    public static func isStop(_ text: String) -> Bool {
        let folded = text.precomposedStringWithCompatibilityMapping.uppercased()
            .trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters).union(.symbols))
            .filter { !$0.isWhitespace }
        return ["STOP", "TD", "T", "退订", "回T退订", "UNSUBSCRIBE"].contains(folded)
    }

    /// A reply from `phone`. "Stop" from a number without an account suppresses it (nothing unsolicited
    /// reaches it again); from an account's number it withdraws the marketing consents, the only
    /// unsolicited messages an account gets (MSG-06), and leaves the account findable as it chose.
    /// Anything else is not processed. - Returns: whether it was a stop.
    @discardableResult
    public func receive(from phone: PhoneNumber, text: String, initiation: Initiation) async throws -> Bool {
        guard Self.isStop(text) else { return false }
        let store = self.store
        let index = store.vault.blindIndex(phone)
        let account = try await store.database.read { sql in
            try await sql.raw("SELECT id FROM users WHERE phone_index = \(bind: index)").first()
                .map { UserID(rawValue: try $0.decode(column: "id", as: String.self)) }
        }
        if let account {
            let ledger = ConsentLedger(store: store)
            _ = try await store.database.transaction { sql in
                for purpose in [PurposeID.marketing, .personalisedMarketing] {
                    _ = try await ledger.withdraw(purpose, by: account, initiation: initiation, on: sql)
                }
            }
            return true
        }
        _ = try await store.database.transaction { sql in
            try await NumberSuppressions.suppress(
                index,
                detail: "number suppressed by a STOP reply",
                initiation: initiation,
                store: store,
                on: sql
            )
        }
        return true
    }
}
