import KithCore
import SQLKit

/// Who asked Kith to send a code: the client's address and network as the HTTP layer read them (behind a
/// trusted proxy, from the header it wrote). Only keyed digests of either are ever stored.
public struct CodeRequester: Sendable {
    /// The client's IP address, in canonical text.
    public var address: String
    /// The client's network (an IPv4 /24 or an IPv6 /56), in canonical text.
    public var network: String

    public init(address: String, network: String) {
        self.address = address
        self.network = network
    }
}

/// Decides, in the transaction that issues a code, whether Kith may send it, and remembers the send
/// (GEN-08, ACC-12, CON-08; issue 15 §1). Everything is in the store, so every node applies the same
/// counts.
///
/// A number's sends are serialised by a transaction-scoped lock on PostgreSQL (SQLite has one writer):
/// two nodes asked at once for one number count each other's code.
struct CodeSendingGuard {
    let policy: CodeSendingPolicy
    let store: KithStore

    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    /// The keyed digest naming a number's range: the number without its last `rangeDigits` digits.
    func rangeKey(of phone: PhoneNumber) -> String {
        store.vault.keyedDigest("code-range", String(phone.e164.dropLast(policy.pumping.rangeDigits)))
    }

    /// Admits a code of `kind` to `phone` asked for by `requester`, recording it; or throws a
    /// ``LimitRefusal`` and writes nothing, so the caller's transaction rolls back.
    ///
    /// - Returns: whether the code is to be sent (`false`: answered as sent, never sent; CON-08).
    func admit(
        phone: PhoneNumber,
        phoneIndex: String,
        kind: VerificationKind,
        requester: CodeRequester,
        on sql: any SQLDatabase
    ) async throws -> Bool {
        if store.database.backend == .postgres {
            try await sql.raw("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: phoneIndex), 7302))").run()
        }
        let now = store.clock.nowMillis
        let range = rangeKey(of: phone)
        if let until = try await sql.raw(
            "SELECT blocked_until FROM code_range_blocks WHERE range_key = \(bind: range) AND blocked_until > \(bind: now)"
        ).first()?.decode(column: "blocked_until", as: Int64.self) {
            throw LimitRefusal(limit: "otp-range", retryAfter: Self.seconds(until - now), trippedGuard: false)
        }
        let network = store.vault.keyedDigest("ip-network", requester.network)
        try await take("otp-ip:" + store.vault.keyedDigest("ip", requester.address), policy.perAddress, on: sql)
        try await take("otp-network:" + network, policy.perNetwork, on: sql)
        try await checkNumber(phoneIndex, now: now, on: sql)
        try await checkRange(range, phoneIndex: phoneIndex, network: network, now: now, on: sql)
        // CON-08: past the limits every number meets, an opted-out number receives only sign-in codes, at most
        // `suppressedPerDay` a day; any other code is answered as sent and never sent, so that the answer
        // does not tell the asker the holder opted out. It still counts for the limits above.
        var sends = true
        if try await NumberSuppressions.isSuppressed(phoneIndex, on: sql) {
            let sentToday =
                try await sql.raw(
                    """
                    SELECT COUNT(*) AS n FROM code_sends WHERE phone_index = \(bind: phoneIndex)
                    AND kind = \(bind: VerificationKind.signIn.rawValue) AND sent_at > \(bind: now - Self.day)
                    """
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            sends = kind == .signIn && sentToday < policy.suppressedPerDay
        }
        try await sql.raw(
            """
            INSERT INTO code_sends (phone_index, range_key, network_key, kind, sent_at)
            VALUES (\(bind: phoneIndex), \(bind: range), \(bind: network), \(bind: sends ? kind.rawValue : "unsent"), \(bind: now))
            """
        ).run()
        return sends
    }

    /// A token bucket of the requester's, refused as a ``LimitRefusal``.
    private func take(_ bucket: String, _ limit: RateLimit, on sql: any SQLDatabase) async throws {
        do {
            _ = try await RateLimiter.take(bucket, limit: limit, store: store, on: sql)
        } catch let error as KithError where error.code == .rateLimited {
            let kind = String(bucket.prefix { $0 != ":" })
            throw LimitRefusal(limit: kind, retryAfter: error.retryAfter ?? 1, trippedGuard: false)
        }
    }

    /// The number's own limits: per hour, per day and the growing back-off, over every code asked for.
    private func checkNumber(_ phoneIndex: String, now: Int64, on sql: any SQLDatabase) async throws {
        let rows = try await sql.raw(
            "SELECT sent_at, kind FROM code_sends WHERE phone_index = \(bind: phoneIndex) AND sent_at > \(bind: now - Self.day) ORDER BY sent_at"
        ).all()
        let sent = try rows.map { try $0.decode(column: "sent_at", as: Int64.self) }
        var waits: [Int64] = []
        let lastHour = sent.filter { $0 > now - Self.hour }
        if lastHour.count >= policy.perNumberPerHour {
            waits.append(lastHour[lastHour.count - policy.perNumberPerHour] + Self.hour - now)
        }
        if sent.count >= policy.perNumberPerDay {
            waits.append(sent[sent.count - policy.perNumberPerDay] + Self.day - now)
        }
        if let last = sent.last {
            waits.append(last + Int64(policy.backoff(sentToday: sent.count)) * 1000 - now)
        }
        if let wait = waits.max(), wait > 0 {
            throw LimitRefusal(limit: "otp-number", retryAfter: Self.seconds(wait), trippedGuard: false)
        }
    }

    /// The pumping guard: this number would make `distinctNumbers` numbers of its range within the window,
    /// all from at most `maxNetworks` client networks.
    private func checkRange(
        _ range: String,
        phoneIndex: String,
        network: String,
        now: Int64,
        on sql: any SQLDatabase
    ) async throws {
        let guardPolicy = policy.pumping
        let since = now - Int64(min(guardPolicy.windowSeconds, CodeSendingPolicy.memorySeconds)) * 1000
        let row = try await sql.raw(
            """
            SELECT COUNT(DISTINCT CASE WHEN phone_index <> \(bind: phoneIndex) THEN phone_index END) AS numbers,
                COUNT(DISTINCT CASE WHEN network_key <> \(bind: network) THEN network_key END) AS networks
            FROM code_sends WHERE range_key = \(bind: range) AND sent_at > \(bind: since)
            """
        ).first()
        let numbers = try (row?.decode(column: "numbers", as: Int.self) ?? 0) + 1
        let networks = try (row?.decode(column: "networks", as: Int.self) ?? 0) + 1
        guard numbers >= guardPolicy.distinctNumbers, networks <= guardPolicy.maxNetworks else { return }
        throw LimitRefusal(limit: "otp-range", retryAfter: guardPolicy.blockSeconds, trippedGuard: true)
    }

    /// Stops codes to the range of `phone` and logs the security event, with counts only (SEC-01).
    func block(rangeOf phone: PhoneNumber, initiation: Initiation) async throws {
        let store = self.store
        let range = rangeKey(of: phone)
        let now = store.clock.nowMillis
        let until = now + Int64(policy.pumping.blockSeconds) * 1000
        let act = ProcessingAct(
            purpose: .securityLog,
            actor: .anonymous,
            subject: nil,
            initiation: initiation,
            detail: "codes to a number range stopped: \(policy.pumping.distinctNumbers) numbers of one range from at "
                + "most \(policy.pumping.maxNetworks) client networks within \(policy.pumping.windowSeconds) s"
        )
        _ = try await store.gate.perform(act) { sql in
            try await sql.raw(
                """
                INSERT INTO code_range_blocks (range_key, blocked_until, created_at) VALUES (\(bind: range), \(bind: until), \(bind: now))
                ON CONFLICT (range_key) DO UPDATE SET blocked_until = \(bind: until), created_at = \(bind: now)
                """
            ).run()
        }
    }

    /// Number ranges no code goes to now, on every node.
    static func blockedRanges(store: KithStore) async throws -> Int {
        let now = store.clock.nowMillis
        return try await store.database.read { sql in
            try await sql.raw(
                "SELECT COUNT(*) AS blocked FROM code_range_blocks WHERE blocked_until > \(bind: now)"
            ).first()?.decode(column: "blocked", as: Int.self) ?? 0
        }
    }

    static func seconds(_ millis: Int64) -> Int { max(1, Int((millis + 999) / 1000)) }
}
