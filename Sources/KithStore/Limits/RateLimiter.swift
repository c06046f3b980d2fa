import KithCore
import SQLKit

/// Token buckets kept in the database, so every node shares them (CON-07, issue "two nodes").
///
/// Bucket names never contain personal data: callers pass keyed digests (``PhoneVault/keyedDigest(_:_:)``).
public struct RateLimiter: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    /// Takes `cost` tokens from `bucket`, or throws ``KithError/Code/rateLimited`` with `Retry-After`.
    ///
    /// A refusal is a logged security event (SEC-01) naming only the kind of limit (the bucket's prefix),
    /// never its key: group-committed, so a flood of refusals costs no fsync each.
    public func take(_ bucket: String, limit: RateLimit, cost: Double = 1, initiation: Initiation? = nil) async throws {
        let store = self.store
        do {
            _ = try await store.database.transaction { sql in
                try await Self.take(bucket, limit: limit, cost: cost, store: store, on: sql)
            }
        } catch let error as KithError where error.code == .rateLimited {
            await Self.logRefusal(bucket, about: nil, initiation: initiation, store: store)
            throw error
        }
    }

    /// Logs a refusal by a limit: the kind of limit and, for a person's own quota, the person.
    static func logRefusal(_ bucket: String, about subject: UserID?, initiation: Initiation?, store: KithStore) async {
        let kind = bucket.prefix { $0 != ":" }
        let act = ProcessingAct(
            purpose: .abusePrevention,
            actor: subject.map { .user($0) } ?? .anonymous,
            subject: subject,
            initiation: initiation ?? Initiation(kind: .system, action: "rateLimit"),
            detail: "refused by the \(kind) limit"
        )
        // The refusal stands whether or not its entry could be written; the answer must not differ.
        _ = try? await store.logDerivation(act)
    }

    /// Takes `cost` tokens from `bucket` in the caller's transaction, so a request's limit and its work
    /// commit together (one commit, and nothing is spent when the work fails).
    ///
    /// - Returns: the tokens left in the bucket.
    /// - Throws: ``KithError/Code/rateLimited`` with `Retry-After`; the caller's transaction rolls back.
    /// The bucket's row, made full if absent and locked for the caller's transaction (PostgreSQL; SQLite has
    /// one writer).
    static func lockedBucket(
        _ bucket: String,
        limit: RateLimit,
        now: Double,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws -> (tokens: Double?, updatedAt: Double?) {
        try await sql.raw(
            "INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES (\(bind: bucket), \(bind: limit.burst), \(bind: now)) ON CONFLICT (bucket) DO NOTHING"
        ).run()
        let lock: SQLQueryString = store.database.backend == .postgres ? " FOR UPDATE" : ""
        let row = try await sql.raw(
            "SELECT tokens, updated_at FROM rate_buckets WHERE bucket = \(bind: bucket)\(lock)"
        ).first()
        return (
            try row?.decode(column: "tokens", as: Double.self), try row?.decode(column: "updated_at", as: Double.self)
        )
    }

    /// Spends `cost` tokens already granted elsewhere (a node's in-memory share, ``ReadThrottle``): never
    /// refuses, the bucket stops at empty.
    ///
    /// - Returns: the tokens left and the time they were counted at.
    static func spend(
        _ bucket: String,
        limit: RateLimit,
        cost: Double,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws -> (tokens: Double, updatedAt: Double) {
        let now = store.clock.nowSeconds
        let (tokens, updatedAt) = try await lockedBucket(bucket, limit: limit, now: now, store: store, on: sql)
        let available = min(limit.burst, (tokens ?? limit.burst) + max(0, now - (updatedAt ?? now)) * limit.perSecond)
        let left = max(0, available - cost)
        try await sql.raw(
            "UPDATE rate_buckets SET tokens = \(bind: left), updated_at = \(bind: now) WHERE bucket = \(bind: bucket)"
        ).run()
        return (left, now)
    }

    static func take(
        _ bucket: String,
        limit: RateLimit,
        cost: Double = 1,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws -> Double {
        let now = store.clock.nowSeconds
        let (tokens, updatedAt) = try await lockedBucket(bucket, limit: limit, now: now, store: store, on: sql)
        switch limit.take(cost: cost, tokens: tokens, updatedAt: updatedAt, now: now) {
        case .success(let remaining):
            try await sql.raw(
                "UPDATE rate_buckets SET tokens = \(bind: remaining), updated_at = \(bind: now) WHERE bucket = \(bind: bucket)"
            ).run()
            return remaining
        case .failure(let retry):
            throw KithError(
                .rateLimited,
                detail: "Too many requests; try again later.",
                retryAfter: retry.seconds
            )
        }
    }
}

/// Why a limit refused a request: thrown by the code limits (``PhoneAccounts/startVerification(phone:kind:requester:initiation:)``)
/// and the read throttle (``ReadThrottle/take(_:reading:initiation:)``).
///
/// The client is told none of this: every refusal is the same 429 answer with `Retry-After`, whatever the
/// reason, so the asker learns nothing about the number or the person (GEN-08). The reason is for the
/// operator's metric and the security log.
public struct LimitRefusal: Error, Sendable, Equatable {
    /// Which rule refused: `otp-ip`, `otp-network`, `otp-number` (the number's own limits, its opt-out
    /// included), `otp-range` (the pumping guard), `reads` (a person's read bucket) or `bulk-reading`
    /// (the bulk-read detector).
    public var limit: String
    /// Seconds until the rule could let the request through.
    public var retryAfter: Int
    /// Whether this request tripped a guard (the pumping guard, the bulk-read detector) that now stops
    /// every request of its kind for a while.
    public var trippedGuard: Bool

    /// The answer every refusal gets.
    public var problem: KithError {
        KithError(.rateLimited, detail: "Too many requests; try again later.", retryAfter: retryAfter)
    }
}
