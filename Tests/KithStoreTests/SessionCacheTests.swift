import KithCore
import KithTestSupport
import Logging
import SQLKit
import Testing

@testable import KithStore

/// The session cache of issue 12: it answers for sessions while it is in step with the store's
/// revocations, and never honours a session ended on this node or, after its next read, on another.
@Suite("Session cache")
struct SessionCacheTests {
    static let initiation = Initiation(kind: .userRequest, action: "test", request: "r1")

    /// Node B: another store over the same database (another server process sharing it).
    static func otherNode(of store: KithStore) -> KithStore {
        KithStore(database: store.database, keys: testKeys, catalogue: .standard, clock: store.clock)
    }

    static func feed(_ store: KithStore) -> SessionRevocationFeed {
        SessionRevocationFeed(store: store, logger: quietLogger())
    }

    @Test("SEC-01 a session in step with the revocations is answered from the cache", arguments: Backend.enabled)
    func answersFromCache(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let session = try await AccountsAndConsentTests.signUp(store)
            let accounts = PhoneAccounts(store: store, codes: .seeding)
            try await Self.feed(store).refresh()
            #expect(try await accounts.authenticate(token: session.token)?.user == session.user)
            #expect(store.sessions.count == 1)
            // The row is gone behind the cache's back (not through a sign-out): while in step, the cache
            // answers without asking the store; that is the whole saving.
            _ = try await store.database.transaction { sql in
                try await sql.raw("DELETE FROM sessions").run()
            }
            // Read the revocations again so a slow machine cannot let the cache go stale in between.
            try await Self.feed(store).refresh()
            #expect(try await accounts.authenticate(token: session.token)?.user == session.user)
            // A node whose revocation reads stop is back to asking the store within the staleness bound.
            try await Task.sleep(for: SessionCache.staleness + .milliseconds(50))
            #expect(try await accounts.authenticate(token: session.token) == nil)
        }
    }

    @Test(
        "SEC-01 a sign-out is refused at once on its node and on another after its next read",
        arguments: Backend.enabled
    )
    func signOutReachesEveryNode(backend: Backend) async throws {
        try await withTestStore(backend) { a in
            let b = Self.otherNode(of: a)
            let session = try await AccountsAndConsentTests.signUp(a)
            let onA = PhoneAccounts(store: a, codes: .seeding)
            let onB = PhoneAccounts(store: b, codes: .seeding)
            try await Self.feed(a).refresh()
            try await Self.feed(b).refresh()
            #expect(try await onA.authenticate(token: session.token) != nil)
            #expect(try await onB.authenticate(token: session.token) != nil)
            #expect(b.sessions.count == 1)

            try await onA.signOut(token: session.token, of: session.user, initiation: Self.initiation)
            #expect(try await onA.authenticate(token: session.token) == nil)
            // B still trusts its cache until it reads the revocations (the feed does so every 200 ms).
            try await Self.feed(b).refresh()
            #expect(b.sessions.count == 0)
            #expect(try await onB.authenticate(token: session.token) == nil)
            let revocations = try await a.database.read { sql in
                try await sql.raw("SELECT user_id FROM session_revocations").all()
                    .map { try $0.decode(column: "user_id", as: String.self) }
            }
            #expect(revocations == [session.user.rawValue])
        }
    }

    @Test("SEC-01 a lookup that straddles a revocation read does not cache what it found")
    func straddlingLookupIsNotKept() {
        let cache = SessionCache()
        cache.synchronised(revoked: [], began: .now)
        let generation = cache.generation
        cache.synchronised(revoked: ["h"], began: .now)
        cache.keep("h", user: UserID(rawValue: "u"), expiresAt: .max, since: generation)
        #expect(cache.user(for: "h", now: 0) == nil)
        cache.keep("h", user: UserID(rawValue: "u"), expiresAt: .max, since: cache.generation)
        #expect(cache.user(for: "h", now: 0) == UserID(rawValue: "u"))
        #expect(cache.user(for: "h", now: .max) == nil)
        cache.synchronised(revoked: nil, began: .now - .seconds(1))
        #expect(cache.user(for: "h", now: 0) != nil, "a failed read does not move the last good one")
    }

    @Test("SEC-05 session revocations are swept an hour after the sign-out", arguments: Backend.enabled)
    func revocationsAreSwept(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let session = try await AccountsAndConsentTests.signUp(store)
            try await PhoneAccounts(store: store, codes: .seeding).signOut(
                token: session.token,
                of: session.user,
                initiation: Self.initiation
            )
            let sweeper = RetentionSweeper(store: store, logger: quietLogger())
            #expect(try await sweeper.sweep().deleted["session_revocations"] == nil)
            let later = try await sweeper.sweep(now: store.clock.nowMillis + 3_601_000)
            #expect(later.deleted["session_revocations"] == 1)
        }
    }
}
