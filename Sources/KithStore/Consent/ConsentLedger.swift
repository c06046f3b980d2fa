import KithCore
import SQLKit

/// A consent as the ledger holds it (ACC-11): the evidence of the moment it was given, and its end.
public struct ConsentRecord: Codable, Sendable, Equatable {
    public var id: String
    public var purpose: PurposeID
    public var noticeVersion: Int
    public var locale: NoticeLocale
    public var textSHA256: String
    public var initialState: ConsentEvidence.ControlState
    public var channel: ConsentEvidence.Channel
    public var grantedAt: Int64
    public var withdrawnAt: Int64?
    /// The processing-log entry that recorded the grant (`log:<seq>`).
    public var evidence: String
    public var withdrawalEvidence: String?
}

/// The consent ledger (ACC-02, ACC-03, ACC-06, ACC-07, ACC-11): per-purpose consent with its evidence;
/// append-only apart from stamping a withdrawal.
public struct ConsentLedger: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    /// Records a consent after ``ConsentPolicy/validate(_:in:)`` accepted its evidence, and logs it.
    public func grant(
        _ evidence: ConsentEvidence,
        by user: UserID,
        initiation: Initiation
    ) async throws -> ConsentRecord {
        try ConsentPolicy.validate(evidence, in: store.catalogue)
        let store = self.store
        return try await store.database.transaction { sql in
            let id = "c_" + Random.token(12)
            let now = store.clock.nowMillis
            let act = ProcessingAct(
                purpose: evidence.purpose,
                actor: .user(user),
                subject: user,
                initiation: initiation,
                detail: "consent granted under notice v\(evidence.noticeVersion) via \(evidence.channel.rawValue)"
            )
            let entry = try await ProcessingGate.append(act, basisRef: "consent:\(id)", store: store, on: sql)
            try await sql.raw(
                """
                INSERT INTO consents (id, user_id, purpose, notice_version, locale, text_sha256, initial_state, channel,
                    granted_at, withdrawn_at, evidence, withdrawal_evidence, log_seq)
                VALUES (\(bind: id), \(bind: user.rawValue), \(bind: evidence.purpose.rawValue), \(bind: evidence.noticeVersion),
                    \(bind: evidence.locale.rawValue), \(bind: evidence.textSHA256.lowercased()), \(bind: evidence.initialState.rawValue),
                    \(bind: evidence.channel.rawValue), \(bind: now), NULL, \(bind: entry.evidence), NULL, \(bind: entry.seq))
                """
            ).run()
            return ConsentRecord(
                id: id,
                purpose: evidence.purpose,
                noticeVersion: evidence.noticeVersion,
                locale: evidence.locale,
                textSHA256: evidence.textSHA256.lowercased(),
                initialState: evidence.initialState,
                channel: evidence.channel,
                grantedAt: now,
                withdrawnAt: nil,
                evidence: entry.evidence,
                withdrawalEvidence: nil
            )
        }
    }

    /// Withdraws every active consent of `user` for `purpose` at once (ACC-07) and logs it.
    ///
    /// - Parameter cleanup: work that must happen in the same transaction (deleting data that rested
    ///   on the consent, CON-06).
    /// - Returns: how many consent records were withdrawn (0 when there was none: withdrawal is idempotent).
    @discardableResult
    public func withdraw(
        _ purpose: PurposeID,
        by user: UserID,
        initiation: Initiation,
        cleanup: @Sendable (any SQLDatabase) async throws -> Void = { _ in }
    ) async throws -> Int {
        guard let described = store.catalogue.purpose(purpose), described.basis.needsConsent else {
            throw KithError.invalid("purpose", "There is no consent purpose with this name in the current notice.")
        }
        let store = self.store
        return try await store.database.transaction { sql in
            let active = try await sql.raw(
                "SELECT id FROM consents WHERE user_id = \(bind: user.rawValue) AND purpose = \(bind: purpose.rawValue) AND withdrawn_at IS NULL"
            ).all().map { try $0.decode(column: "id", as: String.self) }
            try await cleanup(sql)
            let act = ProcessingAct(
                purpose: purpose,
                actor: .user(user),
                subject: user,
                initiation: initiation,
                detail: "consent withdrawn (\(active.count) record(s))"
            )
            let entry = try await ProcessingGate.append(
                act,
                basisRef: active.first.map { "consent:\($0)" },
                store: store,
                on: sql
            )
            try await sql.raw(
                """
                UPDATE consents SET withdrawn_at = \(bind: store.clock.nowMillis), withdrawal_evidence = \(bind: entry.evidence)
                WHERE user_id = \(bind: user.rawValue) AND purpose = \(bind: purpose.rawValue) AND withdrawn_at IS NULL
                """
            ).run()
            return active.count
        }
    }

    /// The consent that currently covers `purpose` for `user`, if any (ACC-06: given under a notice
    /// version at or after the purpose's last material change, and not withdrawn).
    public func current(_ purpose: PurposeID, of user: UserID, on sql: any SQLDatabase) async throws -> ConsentRecord? {
        let records = try await self.records(of: user, purpose: purpose, on: sql)
        return records.last {
            $0.withdrawnAt == nil && store.catalogue.consentIsCurrent(for: purpose, givenUnder: $0.noticeVersion)
        }
    }

    /// Which of `users` currently hold a consent to `purpose` (ACC-06 as in ``current(_:of:on:)``), in a
    /// few queries however many people are asked about.
    public func holders(
        of purpose: PurposeID,
        among users: some Collection<UserID>,
        on sql: any SQLDatabase
    ) async throws -> Set<UserID> {
        let ids = Array(Set(users.map(\.rawValue)))
        var holders: Set<UserID> = []
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let rows = try await sql.select().column("user_id").column("notice_version").from("consents")
                .where("purpose", .equal, purpose.rawValue)
                .where(SQLColumn("withdrawn_at"), .is, SQLLiteral.null)
                .where("user_id", .in, Array(ids[chunk..<min(chunk + 500, ids.count)]))
                .all()
            for row in rows
            where store.catalogue.consentIsCurrent(
                for: purpose,
                givenUnder: try row.decode(column: "notice_version", as: Int.self)
            ) {
                holders.insert(UserID(rawValue: try row.decode(column: "user_id", as: String.self)))
            }
        }
        return holders
    }

    /// Every consent record of the person, oldest first (for `listMyConsents` and the export).
    public func records(
        of user: UserID,
        purpose: PurposeID? = nil,
        on sql: any SQLDatabase
    ) async throws -> [ConsentRecord] {
        let query: SQLQueryString
        if let purpose {
            query =
                "SELECT * FROM consents WHERE user_id = \(bind: user.rawValue) AND purpose = \(bind: purpose.rawValue) ORDER BY granted_at, id"
        } else {
            query = "SELECT * FROM consents WHERE user_id = \(bind: user.rawValue) ORDER BY granted_at, id"
        }
        // Ordered here, not by the database's collation (PostgreSQL's may not sort mixed-case IDs by byte), so
        // every reader of the ledger, contact discovery included, agrees on which record is the latest.
        return try await sql.raw(query).all().map { row in
            ConsentRecord(
                id: try row.decode(column: "id", as: String.self),
                purpose: PurposeID(rawValue: try row.decode(column: "purpose", as: String.self)),
                noticeVersion: try row.decode(column: "notice_version", as: Int.self),
                locale: NoticeLocale(rawValue: try row.decode(column: "locale", as: String.self)) ?? .en,
                textSHA256: try row.decode(column: "text_sha256", as: String.self),
                initialState: ConsentEvidence.ControlState(
                    rawValue: try row.decode(column: "initial_state", as: String.self)
                )
                    ?? .unchecked,
                channel: ConsentEvidence.Channel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .api,
                grantedAt: try row.decode(column: "granted_at", as: Int64.self),
                withdrawnAt: try row.decode(column: "withdrawn_at", as: Int64?.self),
                evidence: try row.decode(column: "evidence", as: String.self),
                withdrawalEvidence: try row.decode(column: "withdrawal_evidence", as: String?.self)
            )
        }
        .sorted { ($0.grantedAt, $0.id) < ($1.grantedAt, $1.id) }
    }
}
