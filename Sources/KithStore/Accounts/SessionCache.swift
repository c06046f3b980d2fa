import KithCore
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// The sessions this node has recently found in the store, so an authenticated request does not ask the
/// database for its session every time (issue 12).
///
/// A session cache must never outlive a sign-out (SEC-01): a session ended on this node leaves the cache
/// at once; one ended on another node sharing the store leaves when this node next reads the store's
/// `session_revocations`, which ``SessionRevocationFeed`` does every 200 ms. An entry is trusted only
/// while the last successful read of the revocations began less than ``staleness`` ago (750 ms), so a
/// revocation committed anywhere is honoured everywhere within a second, and a node that cannot read the
/// revocations (or never started the feed) asks the database on every request, as if there were no cache.
final class SessionCache: Sendable {
    /// How old the last read of the revocations may be for a cached entry to be trusted.
    static let staleness: Duration = .milliseconds(750)
    /// How far back each read of the revocations looks, to cover commits that landed after a later
    /// revocation was already read, and clocks of other nodes that run a little behind this one's.
    static let overlapMillis: Int64 = 10_000
    /// Entries kept at most; the cache starts empty again when full (the store still answers).
    static let capacity = 100_000

    struct Entry: Sendable {
        var user: UserID
        var expiresAt: Int64
    }

    private struct State: Sendable {
        var entries: [String: Entry] = [:]
        /// When the last successful read of the revocations began.
        var syncedAt: ContinuousClock.Instant?
        /// Bumped by every read of the revocations and every local sign-out: a lookup that straddles
        /// one does not cache what it found (it may predate the revocation).
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    /// The person behind the session hashed `tokenHash`, if the cache may answer for it at `now`.
    func user(for tokenHash: String, now: Int64) -> UserID? {
        let trusted = ContinuousClock.now
        return state.withLock { state in
            guard let syncedAt = state.syncedAt, trusted - syncedAt < Self.staleness,
                let entry = state.entries[tokenHash], entry.expiresAt > now
            else { return nil }
            return entry.user
        }
    }

    /// The generation to hand back to ``keep(_:user:expiresAt:since:)`` after reading the store.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Keeps what the store said about a session, unless a revocation was applied since `generation`.
    func keep(_ tokenHash: String, user: UserID, expiresAt: Int64, since generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= Self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[tokenHash] = Entry(user: user, expiresAt: expiresAt)
        }
    }

    /// Forgets sessions ended on this node, at once.
    func forget(_ tokenHashes: some Sequence<String>) {
        state.withLock { state in
            for hash in tokenHashes { state.entries[hash] = nil }
            state.generation &+= 1
        }
    }

    /// Applies one read of the revocations that began at `began`: forgets the sessions ended and, unless
    /// the read failed (`revoked` is `nil`), trusts the cache again until ``staleness`` after `began`.
    func synchronised(revoked: [String]?, began: ContinuousClock.Instant) {
        state.withLock { state in
            for hash in revoked ?? [] { state.entries[hash] = nil }
            state.generation &+= 1
            if revoked != nil { state.syncedAt = began }
        }
    }

    /// Forgets every session of an erased person (DSR-04); a lookup under way does not cache them again.
    func forget(user: UserID) {
        state.withLock { state in
            state.entries = state.entries.filter { $0.value.user != user }
            state.generation &+= 1
        }
    }

    /// Whether a session of `user` is cached.
    func holds(user: UserID) -> Bool { state.withLock { $0.entries.values.contains { $0.user == user } } }

    /// Entries held now (for tests and metrics).
    var count: Int { state.withLock { $0.entries.count } }
}

/// Reads the sessions other nodes ended from `session_revocations` and forgets them in this node's
/// ``SessionCache`` (issue 12: a signed-out token is refused everywhere within 1 s).
public struct SessionRevocationFeed: Service, CustomStringConvertible {
    public var description: String { "SessionRevocationFeed" }

    let store: KithStore
    /// Time between reads.
    public var interval: Duration
    let logger: Logger

    public init(store: KithStore, interval: Duration = .milliseconds(200), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Reads every `interval` until graceful shutdown. A failed read is logged (error type only); the cache
    /// stops being trusted until a read succeeds again.
    public func run() async throws {
        await repeatUntilShutdown(
            every: interval,
            logger: logger,
            failure: "session revocations unreadable; sessions are read from the store"
        ) {
            try await refresh()
        }
    }

    /// One read of the revocations of the last ``SessionCache/overlapMillis``.
    public func refresh() async throws {
        let began = ContinuousClock.now
        let since = store.clock.nowMillis - SessionCache.overlapMillis
        do {
            let revoked = try await store.database.read { sql in
                try await sql.raw(
                    "SELECT token_hash FROM session_revocations WHERE revoked_at >= \(bind: since)"
                ).all().map { try $0.decode(column: "token_hash", as: String.self) }
            }
            store.sessions.synchronised(revoked: revoked, began: began)
        } catch {
            store.sessions.synchronised(revoked: nil, began: began)
            throw error
        }
    }
}

extension SessionCache {
    /// Ends the sessions hashed `tokenHashes` of `user` in the caller's transaction: deletes them and
    /// records their revocation for the other nodes' caches. Every way of ending a session goes through
    /// here, so no node keeps honouring it.
    static func end(
        _ tokenHashes: [String],
        of user: UserID,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws {
        let now = store.clock.nowMillis
        for hash in tokenHashes {
            let ended = try await sql.raw(
                "DELETE FROM sessions WHERE token_hash = \(bind: hash) AND user_id = \(bind: user.rawValue) RETURNING 1 AS one"
            ).all()
            guard !ended.isEmpty else { continue }
            try await sql.raw(
                """
                INSERT INTO session_revocations (token_hash, user_id, revoked_at)
                VALUES (\(bind: hash), \(bind: user.rawValue), \(bind: now))
                """
            ).run()
        }
    }
}

extension SessionCache {
    /// Ends every session of an erased person in the caller's transaction (DSR-04): the revocations the
    /// other nodes read name the token hashes only, never the person.
    static func endAll(of user: UserID, store: KithStore, on sql: any SQLDatabase) async throws -> Int {
        let now = store.clock.nowMillis
        let hashes = try await sql.raw(
            "DELETE FROM sessions WHERE user_id = \(bind: user.rawValue) RETURNING token_hash"
        ).all().map { try $0.decode(column: "token_hash", as: String.self) }
        for hash in hashes {
            try await sql.raw(
                """
                INSERT INTO session_revocations (token_hash, user_id, revoked_at) VALUES (\(bind: hash), '', \(bind: now))
                ON CONFLICT (token_hash) DO NOTHING
                """
            ).run()
        }
        return hashes.count
    }
}

/// Runs `work` every `interval` until graceful shutdown: the loop of a node's background readers. A failure
/// is logged once (error type only) until `work` succeeds again.
func repeatUntilShutdown(
    every interval: Duration,
    logger: Logger,
    failure: Logger.Message,
    _ work: @escaping @Sendable () async throws -> Void
) async {
    await cancelWhenGracefulShutdown {
        var failing = false
        while !Task.isCancelled {
            do {
                try await work()
                failing = false
            } catch is CancellationError {
                return
            } catch {
                if !failing { logger.warning(failure, metadata: ["error.type": "\(type(of: error))"]) }
                failing = true
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}
