import Foundation
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

    /// The evidence a grant's log entry carries inside the chain (ACC-11), so that editing the
    /// `consents` row afterwards is found by ``ProcessingLog/verify(on:publicKey:)``.
    static func chainedEvidence(
        id: String,
        grantedAt: Int64,
        noticeVersion: Int,
        locale: NoticeLocale,
        textSHA256: String,
        initialState: ConsentEvidence.ControlState,
        channel: ConsentEvidence.Channel
    ) -> [String: String] {
        [
            "consentId": id, "grantedAt": String(grantedAt), "noticeVersion": String(noticeVersion),
            "locale": locale.rawValue,
            "textSHA256": textSHA256, "initialState": initialState.rawValue, "channel": channel.rawValue,
        ]
    }

    /// The evidence this record claims, in the form its log entry holds it.
    var chainedEvidence: [String: String] {
        Self.chainedEvidence(
            id: id,
            grantedAt: grantedAt,
            noticeVersion: noticeVersion,
            locale: locale,
            textSHA256: textSHA256,
            initialState: initialState,
            channel: channel
        )
    }
}

/// The consent ledger (ACC-02, ACC-03, ACC-06, ACC-07, ACC-11): per-purpose consent with its evidence;
/// append-only apart from stamping a withdrawal.
public struct ConsentLedger: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    /// Records a consent after ``ConsentPolicy/validate(_:in:)`` accepted its evidence, and logs it with
    /// that evidence inside the chained entry (ACC-11).
    public func grant(
        _ evidence: ConsentEvidence,
        by user: UserID,
        initiation: Initiation
    ) async throws -> ConsentRecord {
        try await store.database.transaction { sql in
            try await grant(evidence, by: user, initiation: initiation, on: sql)
        }
    }

    /// ``grant(_:by:initiation:)`` in the caller's transaction.
    func grant(
        _ evidence: ConsentEvidence,
        by user: UserID,
        initiation: Initiation,
        on sql: any SQLDatabase
    ) async throws -> ConsentRecord {
        try ConsentPolicy.validate(evidence, in: store.catalogue)
        let id = "c_" + Random.token(12)
        let now = store.clock.nowMillis
        let record = ConsentRecord(
            id: id,
            purpose: evidence.purpose,
            noticeVersion: evidence.noticeVersion,
            locale: evidence.locale,
            textSHA256: evidence.textSHA256.lowercased(),
            initialState: evidence.initialState,
            channel: evidence.channel,
            grantedAt: now,
            withdrawnAt: nil,
            evidence: "",
            withdrawalEvidence: nil
        )
        let act = ProcessingAct(
            purpose: evidence.purpose,
            actor: .user(user),
            subject: user,
            initiation: initiation,
            detail: "consent granted under notice v\(evidence.noticeVersion) via \(evidence.channel.rawValue)",
            evidence: record.chainedEvidence
        )
        // The consent is its own basis: the entry names the record it creates.
        let entry = try await ProcessingGate.append(act, basisRef: "consent:\(id)", store: store, on: sql)
        try await sql.raw(
            """
            INSERT INTO consents (id, user_id, purpose, notice_version, locale, text_sha256, initial_state, channel,
                granted_at, withdrawn_at, evidence, withdrawal_evidence, log_seq)
            VALUES (\(bind: id), \(bind: user.rawValue), \(bind: record.purpose.rawValue), \(bind: record.noticeVersion),
                \(bind: record.locale.rawValue), \(bind: record.textSHA256), \(bind: record.initialState.rawValue),
                \(bind: record.channel.rawValue), \(bind: now), NULL, \(bind: entry.reference), NULL, \(bind: entry.seq))
            """
        ).run()
        var granted = record
        granted.evidence = entry.reference
        return granted
    }

    /// Withdraws every active consent of `user` for `purpose` at once (ACC-07) and logs it; in the same
    /// transaction deletes what rested on the consent (CON-06: the uploaded contacts rest on
    /// `contact-discovery`).
    ///
    /// - Returns: how many consent records were withdrawn (0 when there was none: withdrawal is idempotent).
    @discardableResult
    public func withdraw(_ purpose: PurposeID, by user: UserID, initiation: Initiation) async throws -> Int {
        try await store.database.transaction { sql in
            try await withdraw(purpose, by: user, initiation: initiation, on: sql)
        }
    }

    /// ``withdraw(_:by:initiation:)`` in the caller's transaction.
    func withdraw(
        _ purpose: PurposeID,
        by user: UserID,
        initiation: Initiation,
        on sql: any SQLDatabase
    ) async throws -> Int {
        guard let described = store.catalogue.purpose(purpose), described.basis.needsConsent else {
            throw KithError.invalid("purpose", "There is no consent purpose with this name in the current notice.")
        }
        let active = try await sql.raw(
            "SELECT id FROM consents WHERE user_id = \(bind: user.rawValue) AND purpose = \(bind: purpose.rawValue) AND withdrawn_at IS NULL"
        ).all().map { try $0.decode(column: "id", as: String.self) }
        // What rested on the consent goes with it (CON-06).
        if purpose == .contactDiscovery { _ = try await ContactDiscovery.deleteEdges(of: user, on: sql) }
        let act = ProcessingAct.own(
            purpose,
            by: user,
            initiation: initiation,
            detail: "consent withdrawn (\(active.count) record(s))"
        )
        // A withdrawal is logged under the consent it ends.
        let entry = try await ProcessingGate.append(
            act,
            basisRef: active.first.map { "consent:\($0)" },
            store: store,
            on: sql
        )
        try await sql.raw(
            """
            UPDATE consents SET withdrawn_at = \(bind: store.clock.nowMillis), withdrawal_evidence = \(bind: entry.reference)
            WHERE user_id = \(bind: user.rawValue) AND purpose = \(bind: purpose.rawValue) AND withdrawn_at IS NULL
            """
        ).run()
        return active.count
    }

    /// The consent that currently covers `purpose` for `user`, if any (ACC-06: given under a notice
    /// version at or after the purpose's last material change, and not withdrawn).
    public func current(_ purpose: PurposeID, of user: UserID) async throws -> ConsentRecord? {
        try await store.database.read { sql in try await current(purpose, of: user, on: sql) }
    }

    /// Which of `purposes` `user` currently holds a consent to, read together.
    public func currentPurposes(of user: UserID, among purposes: [PurposeID]) async throws -> Set<PurposeID> {
        let catalogue = store.catalogue
        return Set(
            try await records(of: user).filter {
                $0.withdrawnAt == nil && purposes.contains($0.purpose)
                    && catalogue.consentIsCurrent(for: $0.purpose, givenUnder: $0.noticeVersion)
            }.map(\.purpose)
        )
    }

    /// ``current(_:of:)`` on the caller's connection.
    func current(_ purpose: PurposeID, of user: UserID, on sql: any SQLDatabase) async throws -> ConsentRecord? {
        let records = try await self.records(of: user, purpose: purpose, on: sql)
        return records.last {
            $0.withdrawnAt == nil && store.catalogue.consentIsCurrent(for: purpose, givenUnder: $0.noticeVersion)
        }
    }

    /// The ID of ``current(_:of:on:)``'s record, read without the evidence: the lookup every act under a
    /// consent makes (``ProcessingGate/basis(for:store:on:)``), so it fetches three columns of the live rows.
    func currentID(_ purpose: PurposeID, of user: UserID, on sql: any SQLDatabase) async throws -> String? {
        let rows = try await sql.raw(
            """
            SELECT id, notice_version, granted_at FROM consents
            WHERE user_id = \(bind: user.rawValue) AND purpose = \(bind: purpose.rawValue) AND withdrawn_at IS NULL
            """
        ).all()
        var latest: (grantedAt: Int64, id: String)?
        for row in rows
        where store.catalogue.consentIsCurrent(
            for: purpose,
            givenUnder: try row.decode(column: "notice_version", as: Int.self)
        ) {
            let candidate = (
                try row.decode(column: "granted_at", as: Int64.self), try row.decode(column: "id", as: String.self)
            )
            // The same order as ``records(of:purpose:on:)``: by time, then by ID, compared here.
            if latest.map({ ($0.grantedAt, $0.id) < candidate }) ?? true { latest = candidate }
        }
        return latest?.id
    }

    /// Which of `users` currently hold a consent to `purpose` (ACC-06 as in ``current(_:of:on:)``), in a
    /// few queries however many people are asked about.
    func holders(
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
    public func records(of user: UserID) async throws -> [ConsentRecord] {
        try await store.database.read { sql in try await records(of: user, on: sql) }
    }

    /// ``records(of:)``, optionally of one purpose, on the caller's connection.
    func records(
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
        return try await sql.raw(query).all().map(ConsentRecord.init(row:))
            .sorted { ($0.grantedAt, $0.id) < ($1.grantedAt, $1.id) }
    }
}

extension ConsentRecord {
    /// A record from a `consents` row.
    init(row: any SQLRow) throws {
        self.init(
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
}

extension ConsentLedger {
    /// Compares every `consents` row with the evidence its grant's log entry carries inside the chain
    /// (ACC-11, SEC-08): a row edited after the fact — another notice version, text hash, locale, initial
    /// state, channel, time or purpose — no longer matches its entry. Rows whose entry predates chained
    /// evidence are counted, not judged.
    ///
    /// - Returns: one problem per mismatching row (at most 20), naming the consent ID and the field.
    static func bindingProblems(on database: KithDatabase) async throws -> (problems: [String], unbound: Int) {
        var problems: [String] = []
        var unbound = 0
        var after = ""
        while true {
            let cursor = after
            let page = try await database.scan { sql in
                try await sql.raw(
                    """
                    SELECT consents.id AS id, consents.purpose AS purpose, consents.notice_version AS notice_version,
                        consents.locale AS locale, consents.text_sha256 AS text_sha256,
                        consents.initial_state AS initial_state, consents.channel AS channel,
                        consents.granted_at AS granted_at, processing_log.entry AS entry
                    FROM consents JOIN processing_log ON processing_log.seq = consents.log_seq
                    WHERE consents.id > \(bind: cursor) ORDER BY consents.id LIMIT 5000
                    """
                ).all()
            }
            guard !page.isEmpty else { break }
            for row in page {
                let id = try row.decode(column: "id", as: String.self)
                after = id
                let entry = try JSONDecoder().decode(
                    ProcessingEntry.self,
                    from: Data(try row.decode(column: "entry", as: String.self).utf8)
                )
                guard let chained = entry.evidence else {
                    unbound += 1
                    continue
                }
                let stored: [String: String] = [
                    "consentId": id,
                    "grantedAt": String(try row.decode(column: "granted_at", as: Int64.self)),
                    "noticeVersion": String(try row.decode(column: "notice_version", as: Int.self)),
                    "locale": try row.decode(column: "locale", as: String.self),
                    "textSHA256": try row.decode(column: "text_sha256", as: String.self),
                    "initialState": try row.decode(column: "initial_state", as: String.self),
                    "channel": try row.decode(column: "channel", as: String.self),
                ]
                let purpose = try row.decode(column: "purpose", as: String.self)
                let differing =
                    stored.keys.filter { stored[$0] != chained[$0] }.sorted()
                    + (purpose == entry.purpose.rawValue ? [] : ["purpose"])
                if !differing.isEmpty, problems.count < 20 {
                    problems.append(
                        "consent \(id) differs from its log entry \(entry.seq) in \(differing.joined(separator: ", ")): the row was edited"
                    )
                }
            }
        }
        return (problems, unbound)
    }
}
