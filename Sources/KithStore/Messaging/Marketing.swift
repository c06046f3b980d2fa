import Foundation
import KithCore
import SQLKit

/// Whom a campaign is for when profile data selects them (MSG-08): only people who consented to
/// personalised marketing are selected by it.
public struct MarketingAudience: Codable, Sendable, Equatable {
    /// The city of the profile, as written there.
    public var city: String?

    public init(city: String? = nil) { self.city = city }
}

/// What `sendMarketingCampaign` answers: how many were sent, and how many were skipped and why.
public struct CampaignReport: Codable, Sendable, Equatable {
    public enum Skip: String, Codable, Sendable, CaseIterable {
        /// Never consented to marketing (MSG-06).
        case noConsent = "no-consent"
        /// Consented once and withdrew: unsubscribed (MSG-06).
        case unsubscribed
        /// The number is on the suppression list (CON-08).
        case suppressed
        /// A marketing message reached them within ``MarketingPolicy/minDaysBetween``.
        case frequencyCap = "frequency-cap"
        /// A campaign selected by profile, for someone who did not consent to that (MSG-08).
        case notPersonalised = "no-personalised-consent"
        /// Outside the campaign's audience.
        case notInAudience = "not-in-audience"
    }

    public var campaignId: String
    public var sent: Int
    public var skipped: [String: Int]
}

/// Kith's own marketing, lawful by construction (MSG-06..08, ACC-12; Luo v. 51Talk).
///
/// Only people with a current `marketing` consent receive it, each message names the sender and says how
/// to stop (the template does, whatever the words), it leaves under the marketing sender ID and never the
/// transactional one, a profile-selected campaign reaches only people who consented to personalised
/// marketing, nobody gets two within ``MarketingPolicy/minDaysBetween``, and a suppressed number none.
/// Every message is authorised by an operator's act resting on that person's consent; the numbers of
/// people who did not consent are not even decrypted.
public struct MarketingCampaigns: Sendable {
    let store: KithStore
    public let policy: MarketingPolicy

    public init(store: KithStore, policy: MarketingPolicy = MarketingPolicy()) {
        self.store = store
        self.policy = policy
    }

    /// The people and what decides whether a campaign reaches them.
    struct Candidate {
        var user: UserID
        var phoneIndex: String
        var phoneCipher: String
        var city: String
    }

    /// Sends a campaign (MSG-06..08).
    ///
    /// - Returns: the report, and the authorised messages to send after the commit.
    /// - Throws: `invalid-field` (`text`) for words the marketing template does not take.
    public func send(
        text: String,
        audience: MarketingAudience?,
        by operatorName: String,
        initiation: Initiation
    ) async throws -> (CampaignReport, [AuthorisedMessage]) {
        let template = MessageTemplate.marketing(text)
        guard template.isWellFormed else {
            throw KithError.invalid("text", "A campaign's words are 1–300 characters on one line.")
        }
        let store = self.store
        let now = store.clock.nowMillis
        let since = now - Int64(policy.minDaysBetween) * 86_400_000
        let campaign = "mc_" + Random.token(12)
        var skipped = Dictionary(uniqueKeysWithValues: CampaignReport.Skip.allCases.map { ($0.rawValue, 0) })
        let (candidates, consented, withdrew, personalised, suppressed, recent) = try await store.database.read { sql in
            let candidates = try await sql.raw(
                """
                SELECT users.id AS id, users.phone_index AS phone_index, users.phone_cipher AS phone_cipher,
                    COALESCE(profiles.city, '') AS city
                FROM users LEFT JOIN profiles ON profiles.user_id = users.id
                WHERE users.frozen_at IS NULL
                    AND NOT EXISTS (SELECT 1 FROM account_deletions WHERE account_deletions.user_id = users.id)
                ORDER BY users.id
                """
            ).all().map {
                Candidate(
                    user: UserID(rawValue: try $0.decode(column: "id", as: String.self)),
                    phoneIndex: try $0.decode(column: "phone_index", as: String.self),
                    phoneCipher: try $0.decode(column: "phone_cipher", as: String.self),
                    city: try $0.decode(column: "city", as: String.self)
                )
            }
            func users(_ query: SQLQueryString) async throws -> Set<String> {
                Set(try await sql.raw(query).all().map { try $0.decode(column: "user_id", as: String.self) })
            }
            func current(_ purpose: PurposeID) async throws -> Set<String> {
                var current = Set<String>()
                for row in try await sql.raw(
                    """
                    SELECT user_id, notice_version FROM consents
                    WHERE purpose = \(bind: purpose.rawValue) AND withdrawn_at IS NULL
                    """
                ).all()
                where store.catalogue.consentIsCurrent(
                    for: purpose,
                    givenUnder: try row.decode(column: "notice_version", as: Int.self)
                ) {
                    current.insert(try row.decode(column: "user_id", as: String.self))
                }
                return current
            }
            return (
                candidates,
                try await current(.marketing),
                try await users("SELECT DISTINCT user_id FROM consents WHERE purpose = 'marketing'"),
                try await current(.personalisedMarketing),
                Set(
                    try await sql.raw("SELECT phone_index FROM number_suppressions").all().map {
                        try $0.decode(column: "phone_index", as: String.self)
                    }
                ),
                try await users(
                    """
                    SELECT DISTINCT subject_id AS user_id FROM outbound_messages
                    WHERE kind = 'marketing' AND created_at > \(bind: since) AND subject_id IS NOT NULL
                    """
                )
            )
        }
        var recipients: [Candidate] = []
        for candidate in candidates {
            let id = candidate.user.rawValue
            let skip: CampaignReport.Skip? =
                if !consented.contains(id) {
                    withdrew.contains(id) ? .unsubscribed : .noConsent
                } else if audience != nil, !personalised.contains(id) {
                    .notPersonalised
                } else if let city = audience?.city, candidate.city != city {
                    .notInAudience
                } else if suppressed.contains(candidate.phoneIndex) {
                    .suppressed
                } else if recent.contains(id) {
                    .frequencyCap
                } else {
                    nil
                }
            if let skip { skipped[skip.rawValue, default: 0] += 1 } else { recipients.append(candidate) }
        }
        var messages: [AuthorisedMessage] = []
        for batch in stride(from: 0, to: recipients.count, by: 200).map({
            recipients[$0..<min($0 + 200, recipients.count)]
        }) {
            let authorised = try await store.database.transaction { sql in
                var authorised: [AuthorisedMessage] = []
                for recipient in batch {
                    if audience != nil {
                        _ = try await ProcessingGate.record(
                            [
                                ProcessingAct(
                                    purpose: .personalisedMarketing,
                                    actor: .operator(operatorName),
                                    subject: recipient.user,
                                    initiation: initiation,
                                    detail: "marketing recipient selected by profile (city)",
                                    evidence: ["campaignId": campaign]
                                )
                            ],
                            store: store,
                            on: sql
                        )
                    }
                    let act = ProcessingAct(
                        purpose: .marketing,
                        actor: .operator(operatorName),
                        subject: recipient.user,
                        initiation: initiation,
                        detail: "marketing message authorised",
                        evidence: ["campaignId": campaign]
                    )
                    let phone = try store.vault.decryptPhone(recipient.phoneCipher)
                    authorised.append(
                        try await MessageDispatcher.authorise(template, to: phone, by: act, store: store, on: sql).0
                    )
                }
                return authorised
            }
            messages += authorised
        }
        let report = CampaignReport(campaignId: campaign, sent: messages.count, skipped: skipped)
        try await store.gate.record(
            ProcessingAct(
                purpose: .securityLog,
                actor: .operator(operatorName),
                subject: nil,
                initiation: initiation,
                detail: "marketing campaign: \(messages.count) authorised, "
                    + skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "),
                evidence: ["campaignId": campaign]
            )
        )
        return (report, messages)
    }

    /// Unsubscribes `user` from marketing at once (MSG-06): both marketing consents are withdrawn, and
    /// no marketing message authorised before is sent after (``MessageDispatcher/send(_:)`` checks).
    public func unsubscribe(_ user: UserID, initiation: Initiation) async throws {
        let ledger = ConsentLedger(store: store)
        _ = try await store.database.transaction { sql in
            for purpose in [PurposeID.marketing, .personalisedMarketing] {
                _ = try await ledger.withdraw(purpose, by: user, initiation: initiation, on: sql)
            }
        }
    }
}
