import Foundation
import KithCore
import SQLKit

/// A request that self-service cannot answer (DSR-02, DSR-06..08), with its deadline and its answer.
public struct DataRequest: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Explain how Kith processes the person's data (DSR-06).
        case explanation
        /// Next of kin's access, copy, correction or deletion of a deceased user's data (DSR-08).
        case nextOfKin = "next-of-kin"
        /// An objection to a specific processing (DSR-09) beyond the switches in the app.
        case objection
        /// Anything else about the person's data.
        case other
    }

    public enum Status: String, Codable, Sendable {
        case open
        case answered
        case refused
    }

    /// Why a request was refused (DSR-07): a fixed list, so refusals can be counted and audited.
    public enum RefusalReason: String, Codable, Sendable, CaseIterable {
        case identityNotVerified = "identity-not-verified"
        case manifestlyUnfounded = "manifestly-unfounded"
        case excessive
        case legalObligationToKeep = "legal-obligation-to-keep"
        case othersRights = "others-rights"
    }

    /// Where a refused person may turn (PIPL art. 50, GDPR art. 77): every refusal says it.
    public static let complaintRoute =
        "如不同意，可向网信部门投诉、举报，或依法向人民法院提起诉讼（《个人信息保护法》第五十条）。"
        + " If you disagree, you may complain to the Cyberspace Administration or bring an action in court (PIPL art. 50)."

    public var requestId: String
    public var kind: Kind
    public var text: String
    public var status: Status
    public var submittedAt: Int64
    public var dueAt: Int64
    public var overdue: Bool
    public var resolvedAt: Int64?
    public var reasonCode: RefusalReason?
    public var resolution: String?
    /// Set on refusals only.
    public var complaintRoute: String?
}

/// The queue of requests that need a person (DSR-02, DSR-06..08): each has a deadline of
/// ``DataRequestPolicy/deadlineWorkingDays`` working days, an overdue count for the operator metric, and an
/// answer; a refusal needs a reason code, a text, and carries the complaint route. Every step is logged.
public struct DataRequests: Sendable {
    let store: KithStore
    public let policy: DataRequestPolicy

    public init(store: KithStore, policy: DataRequestPolicy = DataRequestPolicy()) {
        self.store = store
        self.policy = policy
    }

    /// - Throws: `invalid-field` (`text`) for an empty or over-long text; `rate-limited` past
    ///   ``DataRequestPolicy/perPerson``.
    public func submit(
        _ kind: DataRequest.Kind,
        text: String,
        by user: UserID,
        initiation: Initiation
    ) async throws
        -> DataRequest
    {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...4000).contains(trimmed.count) else {
            throw KithError.invalid("text", "Say what you ask for, in at most 4,000 characters.")
        }
        try await RateLimiter(store: store).take(
            "data-requests:" + user.rawValue,
            limit: policy.perPerson,
            initiation: initiation
        )
        let id = "dr_" + Random.token(16)
        let now = store.clock.nowMillis
        let due = policy.calendar.adding(policy.deadlineWorkingDays, to: now)
        let act = ProcessingAct.own(
            .account,
            by: user,
            initiation: initiation,
            detail: "data request submitted (\(kind.rawValue))"
        )
        return try await store.gate.perform(act) { sql in
            try await sql.raw(
                """
                INSERT INTO data_requests (id, requester_id, kind, text, submitted_at, due_at, status)
                VALUES (\(bind: id), \(bind: user.rawValue), \(bind: kind.rawValue), \(bind: trimmed), \(bind: now), \(bind: due), 'open')
                """
            ).run()
            return try await Self.request(id, now: now, on: sql)!
        }.0
    }

    /// The requests, oldest deadline first; `status` filters. Logged as the operator's act, with a count.
    public func list(
        status: DataRequest.Status?,
        by operatorName: String,
        initiation: Initiation
    ) async throws
        -> [DataRequest]
    {
        let now = store.clock.nowMillis
        let requests = try await store.database.read { sql in
            let query: SQLQueryString =
                status.map { "SELECT * FROM data_requests WHERE status = \(bind: $0.rawValue) ORDER BY due_at, id" }
                ?? "SELECT * FROM data_requests ORDER BY due_at, id"
            return try await sql.raw(query).all().map { try Self.request(from: $0, now: now) }
        }
        try await store.gate.record(
            ProcessingAct(
                purpose: .securityLog,
                actor: .operator(operatorName),
                subject: nil,
                initiation: initiation,
                detail: "data requests listed by an operator: \(requests.count)"
            )
        )
        return requests
    }

    /// Answers or refuses an open request.
    /// - Throws: `not-found` (`requestId`); `conflict` when it was resolved already; `invalid-field`
    ///   (`reasonCode`) for a refusal without a reason, (`text`) without an answer.
    public func resolve(
        _ id: String,
        refusing reason: DataRequest.RefusalReason?,
        text: String,
        by operatorName: String,
        initiation: Initiation
    ) async throws -> DataRequest {
        let answer = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...4000).contains(answer.count) else {
            throw KithError.invalid("text", "Write the answer (or the reasons for refusing), at most 4,000 characters.")
        }
        let store = self.store
        let now = store.clock.nowMillis
        return try await store.database.transaction { sql in
            guard let request = try await Self.request(id, now: now, on: sql) else {
                throw KithError(.notFound, field: "requestId", detail: "There is no such request.")
            }
            guard request.status == .open else {
                throw KithError(.conflict, field: "requestId", detail: "This request was answered already.")
            }
            guard
                let requester = try await sql.raw("SELECT requester_id FROM data_requests WHERE id = \(bind: id)")
                    .first()?.decode(column: "requester_id", as: String.self)
            else { throw KithError(.notFound, field: "requestId", detail: "There is no such request.") }
            let status: DataRequest.Status = reason == nil ? .answered : .refused
            try await ProcessingGate.record(
                [
                    ProcessingAct(
                        purpose: .account,
                        actor: .operator(operatorName),
                        subject: UserID(rawValue: requester),
                        initiation: initiation,
                        detail: "data request \(status.rawValue)"
                            + (reason.map { " (\($0.rawValue))" } ?? "")
                            + (now > request.dueAt ? ", after its deadline" : "")
                    )
                ],
                store: store,
                on: sql
            )
            // Only an open request changes: of two operators answering at once, the second gets a conflict.
            let changed = try await sql.raw(
                """
                UPDATE data_requests SET status = \(bind: status.rawValue), resolved_at = \(bind: now),
                    resolved_by = \(bind: operatorName), reason_code = \(bind: reason?.rawValue), resolution = \(bind: answer)
                WHERE id = \(bind: id) AND status = 'open' RETURNING 1 AS one
                """
            ).all()
            guard !changed.isEmpty else {
                throw KithError(.conflict, field: "requestId", detail: "This request was answered already.")
            }
            return try await Self.request(id, now: now, on: sql)!
        }
    }

    /// Open requests past their deadline (the operator metric `kith_data_requests_overdue`).
    public func overdue() async throws -> Int {
        let now = store.clock.nowMillis
        return try await store.database.read { sql in
            try await sql.raw(
                "SELECT COUNT(*) AS n FROM data_requests WHERE status = 'open' AND due_at < \(bind: now)"
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    static func request(_ id: String, now: Int64, on sql: any SQLDatabase) async throws -> DataRequest? {
        try await sql.raw("SELECT * FROM data_requests WHERE id = \(bind: id)").first().map {
            try request(from: $0, now: now)
        }
    }

    static func request(from row: any SQLRow, now: Int64) throws -> DataRequest {
        let status = DataRequest.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .open
        let due = try row.decode(column: "due_at", as: Int64.self)
        let reason = try row.decode(column: "reason_code", as: String?.self).flatMap(DataRequest.RefusalReason.init)
        return DataRequest(
            requestId: try row.decode(column: "id", as: String.self),
            kind: DataRequest.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .other,
            text: try row.decode(column: "text", as: String.self),
            status: status,
            submittedAt: try row.decode(column: "submitted_at", as: Int64.self),
            dueAt: due,
            overdue: status == .open && now > due,
            resolvedAt: try row.decode(column: "resolved_at", as: Int64?.self),
            reasonCode: reason,
            resolution: try row.decode(column: "resolution", as: String?.self),
            complaintRoute: status == .refused ? DataRequest.complaintRoute : nil
        )
    }
}
