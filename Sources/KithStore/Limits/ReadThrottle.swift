import KithCore
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// How much of other people's data one signed-in person reads: a token bucket per person and a detector
/// of bulk reading (different people read within an hour), kept in memory on each node and shared through
/// the store every second (GEN-05, Weibo v. Maimai; issue 15 §4).
///
/// A read costs a lock and a dictionary lookup; only a person's first read on a node reads the store. Each
/// ``synchronise()`` writes what this node's readers spent and whom they read, and reads back what every
/// node did: a person reading through several nodes has one bucket and one count, a second late at most.
public final class ReadThrottle: Sendable {
    let store: KithStore
    public let policy: ReadThrottlePolicy
    private let state = Mutex(State())
    /// One synchronisation at a time: a caller that finds one under way waits for it and then writes
    /// its own, so whatever was read before the call is in the store when the call returns.
    private let synchronising = AsyncLock()

    /// A reader idle this long with nothing to write is forgotten (and read from the store when back).
    static let idleMillis: Int64 = 600_000
    /// Refusals of one reader's bucket are logged at most this often: a scraper's thousands of refused
    /// reads are one security event a minute, not one each.
    static let refusalLogMillis: Int64 = 60_000

    public init(store: KithStore, policy: ReadThrottlePolicy = ReadThrottlePolicy()) {
        self.store = store
        self.policy = policy
    }

    struct Reader: Sendable {
        var tokens: Double
        var updatedAt: Double
        /// Tokens spent here since the last synchronisation.
        var pendingCost: Double = 0
        /// The hour (since 1970) the people below were read in.
        var hour: Int64
        /// People this node saw the reader read this hour; `fresh` are those not yet in the store.
        var seen: Set<UserID> = []
        var fresh: [UserID] = []
        /// Different people the store counts for this reader and hour, at the last synchronisation.
        var storedDistinct = 0
        var blockedUntil: Int64 = 0
        /// Whether this node stopped the reader and the store does not know yet.
        var newBlock = false
        var lastRefusalLogged: Int64?
        var lastUsed: Int64
    }

    struct State: Sendable {
        var readers: [UserID: Reader] = [:]
    }

    enum Decision {
        case allowed
        case unknownReader
        case refused(LimitRefusal, log: Bool)
    }

    /// Takes one read by `reader` of `subject`'s data (`nil` for the reader's own lists: suggestions, the
    /// second degree).
    ///
    /// - Throws: ``LimitRefusal`` (`reads` for the bucket, `bulk-reading` when the detector stops the
    ///   reader); a refusal is a logged security event of the reader, at most one a minute.
    public func take(_ reader: UserID, reading subject: UserID?, initiation: Initiation) async throws {
        let now = store.clock.nowMillis
        let policy = self.policy
        var decision = state.withLock { Self.decide(&$0, reader, subject, now: now, policy: policy) }
        if case .unknownReader = decision {
            let loaded = try await load(reader, now: now)
            decision = state.withLock { state in
                if state.readers[reader] == nil { state.readers[reader] = loaded }
                return Self.decide(&state, reader, subject, now: now, policy: policy)
            }
        }
        guard case .refused(let refusal, let log) = decision else { return }
        if refusal.trippedGuard {
            let act = ProcessingAct(
                purpose: .securityLog,
                actor: .user(reader),
                subject: reader,
                initiation: initiation,
                detail: "bulk reading stopped: more than \(policy.distinctPeoplePerHour) people read within an hour"
            )
            _ = try? await store.logDerivation(act)
        } else if log {
            await RateLimiter.logRefusal(refusal.limit, about: reader, initiation: initiation, store: store)
        }
        throw refusal
    }

    private static func decide(
        _ state: inout State,
        _ id: UserID,
        _ subject: UserID?,
        now: Int64,
        policy: ReadThrottlePolicy
    ) -> Decision {
        guard var reader = state.readers[id] else { return .unknownReader }
        defer { state.readers[id] = reader }
        reader.lastUsed = now
        if reader.blockedUntil > now {
            let refusal = LimitRefusal(
                limit: "bulk-reading",
                retryAfter: CodeSendingGuard.seconds(reader.blockedUntil - now),
                trippedGuard: false
            )
            return .refused(refusal, log: reader.logRefusal(now))
        }
        let seconds = Double(now) / 1000
        switch policy.perUser.take(cost: 1, tokens: reader.tokens, updatedAt: reader.updatedAt, now: seconds) {
        case .failure(let wait):
            return .refused(
                LimitRefusal(limit: "reads", retryAfter: wait.seconds, trippedGuard: false),
                log: reader.logRefusal(now)
            )
        case .success(let left):
            reader.tokens = left
            reader.updatedAt = seconds
        }
        reader.pendingCost += 1
        let hour = now / 3_600_000
        if hour != reader.hour {
            reader.hour = hour
            reader.seen = []
            reader.fresh = []
            reader.storedDistinct = 0
        }
        guard let subject, subject != id, reader.seen.insert(subject).inserted else { return .allowed }
        reader.fresh.append(subject)
        guard reader.storedDistinct + reader.fresh.count > policy.distinctPeoplePerHour else { return .allowed }
        reader.blockedUntil = now + Int64(policy.blockSeconds) * 1000
        reader.newBlock = true
        return .refused(
            LimitRefusal(limit: "bulk-reading", retryAfter: policy.blockSeconds, trippedGuard: true),
            log: false
        )
    }

    /// A reader first seen on this node: its bucket, its count of people read this hour and its block, as
    /// the store has them.
    private func load(_ reader: UserID, now: Int64) async throws -> Reader {
        let hour = now / 3_600_000
        let (tokens, updatedAt, distinct, blockedUntil) = try await store.database.read { sql in
            try await Self.stored(reader, hour: hour, on: sql)
        }
        return Reader(
            tokens: tokens ?? policy.perUser.burst,
            updatedAt: updatedAt ?? Double(now) / 1000,
            hour: hour,
            storedDistinct: distinct,
            blockedUntil: blockedUntil,
            lastUsed: now
        )
    }

    private static func stored(
        _ reader: UserID,
        hour: Int64,
        on sql: any SQLDatabase
    ) async throws -> (
        Double?, Double?, Int, Int64
    ) {
        let bucket = try await sql.raw(
            "SELECT tokens, updated_at FROM rate_buckets WHERE bucket = \(bind: "reads:" + reader.rawValue)"
        ).first()
        let distinct =
            try await sql.raw(
                "SELECT COUNT(*) AS n FROM read_subjects WHERE reader_id = \(bind: reader.rawValue) AND hour = \(bind: hour)"
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        let blocked =
            try await sql.raw(
                "SELECT blocked_until FROM read_blocks WHERE user_id = \(bind: reader.rawValue)"
            ).first()?.decode(column: "blocked_until", as: Int64.self) ?? 0
        return (
            try bucket?.decode(column: "tokens", as: Double.self),
            try bucket?.decode(column: "updated_at", as: Double.self),
            distinct,
            blocked
        )
    }

    /// What one reader owes the store at a synchronisation.
    private struct Pending: Sendable {
        var reader: UserID
        var cost: Double
        var hour: Int64
        var fresh: [UserID]
        var blockedUntil: Int64?
    }

    /// Forgets an erased person (DSR-04): as a reader, and among the people every reader read this hour.
    public func forget(_ user: UserID) {
        state.withLock { state in
            state.readers[user] = nil
            for (id, var reader) in state.readers where reader.seen.contains(user) {
                reader.seen.remove(user)
                reader.fresh.removeAll { $0 == user }
                state.readers[id] = reader
            }
        }
    }

    /// Whether this node keeps anything of `user`: as a reader, or among the people someone read.
    public func holds(_ user: UserID, phoneIndex: String) -> Bool {
        state.withLock { state in
            state.readers[user] != nil || state.readers.values.contains { $0.seen.contains(user) }
        }
    }

    /// Writes this node's reads to the store and reads back every node's: spent tokens, people read, blocks.
    /// Readers idle for ten minutes with nothing to write are forgotten. On failure nothing is lost: what
    /// was to be written is kept for the next synchronisation.
    public func synchronise() async throws {
        await synchronising.acquire()
        defer { synchronising.release() }
        let now = store.clock.nowMillis
        let pending: [Pending] = state.withLock { state in
            var pending: [Pending] = []
            for (id, var reader) in state.readers {
                let idle = now - reader.lastUsed > Self.idleMillis
                let owes = reader.pendingCost > 0 || !reader.fresh.isEmpty || reader.newBlock
                if idle && !owes {
                    state.readers[id] = nil
                    continue
                }
                pending.append(
                    Pending(
                        reader: id,
                        cost: reader.pendingCost,
                        hour: reader.hour,
                        fresh: reader.fresh,
                        blockedUntil: reader.newBlock ? reader.blockedUntil : nil
                    )
                )
                // Counted as stored while they are written, so a read during the write still counts them.
                reader.storedDistinct += reader.fresh.count
                reader.pendingCost = 0
                reader.fresh = []
                reader.newBlock = false
                state.readers[id] = reader
            }
            return pending
        }
        guard !pending.isEmpty else { return }
        let store = self.store
        let limit = policy.perUser
        let stored: [(Double?, Double?, Int, Int64)]
        do {
            stored = try await store.database.transaction { sql in
                var stored: [(Double?, Double?, Int, Int64)] = []
                for item in pending {
                    try await Self.write(item, limit: limit, now: now, store: store, on: sql)
                    stored.append(try await Self.stored(item.reader, hour: item.hour, on: sql))
                }
                return stored
            }
        } catch {
            state.withLock { state in
                for item in pending {
                    guard var reader = state.readers[item.reader] else { continue }
                    reader.pendingCost += item.cost
                    if reader.hour == item.hour {
                        reader.fresh += item.fresh
                        reader.storedDistinct -= item.fresh.count
                    }
                    if item.blockedUntil != nil { reader.newBlock = true }
                    state.readers[item.reader] = reader
                }
            }
            throw error
        }
        state.withLock { state in
            for (item, (tokens, updatedAt, distinct, blockedUntil)) in zip(pending, stored) {
                guard var reader = state.readers[item.reader] else { continue }
                // What was spent here since the snapshot is still owed: the store's figure less that.
                if let tokens, let updatedAt {
                    reader.tokens = tokens - reader.pendingCost
                    reader.updatedAt = updatedAt
                }
                // The store's count, with what was read here since the snapshot still to come.
                if reader.hour == item.hour { reader.storedDistinct = distinct }
                reader.blockedUntil = max(reader.blockedUntil, blockedUntil)
                state.readers[item.reader] = reader
            }
        }
    }

    private static func write(
        _ item: Pending,
        limit: RateLimit,
        now: Int64,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws {
        let reader = item.reader.rawValue
        if item.cost > 0 {
            _ = try await RateLimiter.spend("reads:" + reader, limit: limit, cost: item.cost, store: store, on: sql)
        }
        for subject in item.fresh {
            // A read of an ID that is no account (never was, or erased since: DSR-04) still counts towards
            // the reader's distinct people, under a keyed digest: the store never keeps an erased person's ID.
            let gone = "gone:" + store.vault.keyedDigest("read-subject", subject.rawValue)
            try await sql.raw(
                """
                INSERT INTO read_subjects (reader_id, subject_id, hour, read_at)
                VALUES (\(bind: reader),
                    CASE WHEN EXISTS (SELECT 1 FROM users WHERE id = \(bind: subject.rawValue))
                        THEN \(bind: subject.rawValue) ELSE \(bind: gone) END,
                    \(bind: item.hour), \(bind: now))
                ON CONFLICT (reader_id, subject_id, hour) DO NOTHING
                """
            ).run()
        }
        if let until = item.blockedUntil {
            try await sql.raw(
                """
                INSERT INTO read_blocks (user_id, blocked_until) VALUES (\(bind: reader), \(bind: until))
                ON CONFLICT (user_id) DO UPDATE SET blocked_until = \(bind: until)
                """
            ).run()
        }
    }

    /// Readers whose reads are stopped now, on every node: the detector's operator metric.
    public func blockedReaders() async throws -> Int {
        let now = store.clock.nowMillis
        return try await store.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM read_blocks WHERE blocked_until > \(bind: now)").first()?
                .decode(column: "n", as: Int.self) ?? 0
        }
    }
}

extension ReadThrottle.Reader {
    /// Whether a refusal now should be logged: the first, then one a minute.
    mutating func logRefusal(_ now: Int64) -> Bool {
        if let last = lastRefusalLogged, now - last < ReadThrottle.refusalLogMillis { return false }
        lastRefusalLogged = now
        return true
    }
}

/// Synchronises a node's ``ReadThrottle`` with the store every second until graceful shutdown.
public struct ReadThrottleSync: Service, CustomStringConvertible {
    public var description: String { "ReadThrottleSync" }

    let throttle: ReadThrottle
    let interval: Duration
    let logger: Logger

    public init(throttle: ReadThrottle, interval: Duration = .seconds(1), logger: Logger) {
        self.throttle = throttle
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval, logger: logger, failure: "read throttle not synchronised") {
            try await throttle.synchronise()
        }
    }
}
