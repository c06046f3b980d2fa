import Foundation
import KithCore
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("Retention enforced by the sweeper (SEC-05)")
struct RetentionSweeperTests {
    static let initiation = Initiation(kind: .userRequest, action: "test", request: "r1")
    static let member = try! PhoneNumber.parse("+8613912345678").get()
    static let stranger = try! PhoneNumber.parse("+8613700001111").get()

    /// A store on a clock the test moves, and a sweeper over it.
    static func withSweeper(
        _ backend: Backend,
        _ body: @Sendable (KithStore, ManualClock, RetentionSweeper) async throws -> Void
    ) async throws {
        let clock = ManualClock()
        try await withTestStore(backend, clock: .manual(clock)) { store in
            try await body(store, clock, RetentionSweeper(store: store, logger: quietLogger()))
        }
    }

    static func count(_ store: KithStore, _ query: SQLQueryString) async throws -> Int {
        try await store.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM (" + query + ") AS counted").first()!.decode(
                column: "n",
                as: Int.self
            )
        }
    }

    /// Every text value of every column the inventory declares that contains `needle`, as `table.column`.
    static func traces(of needle: String, in store: KithStore) async throws -> [String] {
        var found: [String] = []
        for table in DataInventory.kith.tables {
            let rows = try await store.database.read { sql in
                try await sql.raw("SELECT * FROM \(ident: table.name)").all()
            }
            for row in rows {
                for column in table.columns {
                    if let text = try? row.decode(column: column.name, as: String?.self), text.contains(needle) {
                        found.append("\(table.name).\(column.name)")
                    }
                }
            }
        }
        return found
    }

    @Test(
        "SEC-05 expired verification codes and sessions are gone after a sweep; live ones stay",
        arguments: Backend.enabled
    )
    func verificationsAndSessions(backend: Backend) async throws {
        try await Self.withSweeper(backend) { store, clock, sweeper in
            let accounts = PhoneAccounts(store: store, codes: .seeding)
            let first = try await accounts.startVerification(
                phone: Self.member,
                requester: .test,
                initiation: Self.initiation
            )
            let session = try await accounts.verify(id: first.id, code: first.code, initiation: Self.initiation)
            clock.advance(seconds: 300)
            let second = try await accounts.startVerification(
                phone: Self.stranger,
                requester: .test,
                initiation: Self.initiation
            )
            clock.advance(seconds: 301)  // the first code expired, the second has 299 s left
            let swept = try await sweeper.sweep()
            #expect(swept.deleted["verifications"] == 1)
            #expect(swept.deleted["sessions"] == nil)
            let left = try await Self.count(store, "SELECT id FROM verifications WHERE id = \(bind: second.id)")
            #expect(left == 1)
            #expect(try await accounts.authenticate(token: session.token)?.user == session.user)

            clock.advance(seconds: Double(accounts.policy.sessionLifetime))
            let later = try await sweeper.sweep()
            #expect(later.deleted["verifications"] == 1)
            #expect(later.deleted["sessions"] == 1)
            #expect(try await Self.count(store, "SELECT token_hash FROM sessions") == 0)
            #expect(try await Self.count(store, "SELECT id FROM verifications") == 0)
            // The account itself is kept while it exists.
            #expect(try await Self.count(store, "SELECT id FROM users") == 1)
        }
    }

    @Test(
        "SEC-05 a number typed by a stranger leaves no keyed hash behind once its window has passed",
        arguments: Backend.enabled
    )
    func strangersNumberForgotten(backend: Backend) async throws {
        try await Self.withSweeper(backend) { store, clock, sweeper in
            // Requesting a sign-in code: the limits per address and network, the number's sends, the verification.
            let codes = CodeSendingPolicy()
            let index = store.vault.blindIndex(Self.stranger)
            let pending = try await PhoneAccounts(store: store, codes: .seeding).startVerification(
                phone: Self.stranger,
                requester: .test,
                initiation: Self.initiation
            )
            // Until the code is sent, its message knows whom it may go to; once sent, no longer.
            #expect(try await Self.traces(of: index, in: store).contains("message_recipients.recipient_index"))
            try await MessageDispatcher(gateway: RecordingGateway(), store: store).send(try #require(pending.message))
            #expect(
                try await Self.traces(of: index, in: store).sorted() == [
                    "code_sends.phone_index", "verifications.phone_index",
                ]
            )

            clock.advance(seconds: 601)  // the code expired; the limits still count
            #expect(try await sweeper.sweep().deleted == ["verifications": 1])
            #expect(try await Self.traces(of: index, in: store) == ["code_sends.phone_index"])

            let addressWindow = max(codes.perAddress.secondsUntilFull, codes.perNetwork.secondsUntilFull)
            clock.advance(seconds: Double(addressWindow + 1 - 601))
            // The address's and the network's buckets are full again.
            #expect(try await sweeper.sweep().deleted == ["rate_buckets": 2])
            #expect(try await Self.count(store, "SELECT bucket FROM rate_buckets") == 0)
            #expect(try await Self.traces(of: index, in: store) == ["code_sends.phone_index"])

            clock.advance(seconds: Double(Int64(CodeSendingPolicy.memorySeconds) - addressWindow))
            #expect(try await sweeper.sweep().deleted == ["code_sends": 1])
            #expect(try await Self.traces(of: index, in: store).isEmpty)
        }
    }

    @Test("SEC-05 rate-limit buckets are swept per key pattern, each after its own window", arguments: Backend.enabled)
    func bucketsByPattern(backend: Backend) async throws {
        try await Self.withSweeper(backend) { store, clock, sweeper in
            let user = UserID.generate()
            let limiter = RateLimiter(store: store)
            try await limiter.take("discovery:" + user.rawValue, limit: .perDay(100, burst: 2000), cost: 50)
            try await limiter.take("connection-requests:" + user.rawValue, limit: .perDay(100, burst: 100))
            clock.advance(seconds: 86_401)
            #expect(try await sweeper.sweep().deleted == ["rate_buckets": 1])
            let left = try await store.database.read { sql in
                try await sql.raw("SELECT bucket FROM rate_buckets").all().map {
                    try $0.decode(column: "bucket", as: String.self)
                }
            }
            #expect(left == ["discovery:" + user.rawValue])  // the quota's window is 20 days
            clock.advance(seconds: 19 * 86_400)
            #expect(try await sweeper.sweep().deleted == ["rate_buckets": 1])
        }
    }

    @Test(
        "SEC-05 stale discovery recheck tokens and old graph changes are swept; recent ones stay",
        arguments: Backend.enabled
    )
    func tokensAndGraphChanges(backend: Backend) async throws {
        try await Self.withSweeper(backend) { store, clock, sweeper in
            let user = UserID.generate().rawValue
            let now = clock.millis
            try await store.database.transaction { sql in
                for (hash, age) in [
                    ("old", DataInventory.recheckTokenWindow + 1), ("new", DataInventory.recheckTokenWindow - 60),
                ] {
                    try await sql.raw(
                        """
                        INSERT INTO discovery_tokens (user_id, token_hash, number_count, created_at)
                        VALUES (\(bind: user), \(bind: hash), 3, \(bind: now - age * 1000))
                        """
                    ).run()
                }
                for age in [DataInventory.graphChangeWindow + 1, 10] {
                    try await sql.raw(
                        "INSERT INTO graph_changes (at, user_id, peer_id) VALUES (\(bind: now - age * 1000), \(bind: user), '')"
                    ).run()
                }
            }
            let swept = try await sweeper.sweep()
            #expect(swept.deleted == ["discovery_tokens": 1, "graph_changes": 1])
            #expect(
                try await Self.count(store, "SELECT token_hash FROM discovery_tokens WHERE token_hash = 'new'") == 1
            )
            #expect(try await Self.count(store, "SELECT at FROM graph_changes") == 1)
        }
    }

    @Test(
        "SEC-05 SEC-01 a sweep is one logged act with counts only, and the log still verifies",
        arguments: Backend.enabled
    )
    func loggedWithCountsOnly(backend: Backend) async throws {
        try await Self.withSweeper(backend) { store, clock, sweeper in
            let accounts = PhoneAccounts(store: store, codes: .seeding)
            let pending = try await accounts.startVerification(
                phone: Self.stranger,
                requester: .test,
                initiation: Self.initiation
            )
            let index = store.vault.blindIndex(Self.stranger)
            let before = try await Self.count(store, "SELECT seq FROM processing_log")
            #expect(try await sweeper.sweep().entry == nil)  // nothing due: nothing deleted, nothing logged
            #expect(try await Self.count(store, "SELECT seq FROM processing_log") == before)

            clock.advance(seconds: 3 * 3600)
            let swept = try await sweeper.sweep()
            // The code was never sent (say the provider was down): its recipient goes with the rest.
            #expect(swept.deleted == ["message_recipients": 1, "rate_buckets": 2, "verifications": 1])
            let entry = try #require(swept.entry)
            #expect(try await Self.count(store, "SELECT seq FROM processing_log") == before + 1)
            #expect(entry.actor == "system" && entry.subject == nil)
            #expect(entry.purpose == .securityLog && entry.basis == .legalObligation)
            #expect(entry.initiation == Initiation(kind: .system, action: "retentionSweep"))
            #expect(
                entry.detail
                    == "retention sweep deleted 4 rows: message_recipients 1, rate_buckets 2, verifications 1"
            )
            let stored = try await store.database.read { sql in
                try await sql.raw("SELECT entry, subject_ref FROM processing_log WHERE seq = \(bind: entry.seq)")
                    .first()!
            }
            let text = try stored.decode(column: "entry", as: String.self)
            #expect(try stored.decode(column: "subject_ref", as: String?.self) == nil)
            for secret in [index, pending.id, Self.stranger.e164, "otp-ip", "otp-network"] {
                #expect(!text.contains(secret))
            }
            let verification = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(verification.isIntact, "\(verification)")
        }
    }

    @Test(
        "SEC-05 a table a capability declares with a retention is swept with no change to the sweeper",
        arguments: Backend.enabled
    )
    func newCapabilitySwept(backend: Backend) async throws {
        try await Self.withSweeper(backend) { store, clock, _ in
            try await store.database.transaction { sql in
                try await sql.raw("CREATE TABLE test_invitations (owner_id TEXT NOT NULL, sent_at BIGINT NOT NULL)")
                    .run()
                try await sql.raw("INSERT INTO test_invitations VALUES ('u1', \(bind: clock.millis - 8 * 86_400_000))")
                    .run()
                try await sql.raw("INSERT INTO test_invitations VALUES ('u2', \(bind: clock.millis))").run()
            }
            var inventory = DataInventory.kith
            inventory.tables.append(
                InventoryTable(
                    "test_invitations",
                    subjects: [SubjectColumn("owner_id")],
                    retention: .window(seconds: 7 * 86_400, after: "sent_at", unit: .milliseconds),
                    columns: [
                        InventoryColumn("owner_id", .userIdentifier, [.socialNetwork]),
                        InventoryColumn("sent_at", .activityTime, [.socialNetwork]),
                    ]
                )
            )
            let sweeper = RetentionSweeper(store: store, inventory: inventory, logger: quietLogger())
            #expect(sweeper.rules.contains { $0.table == "test_invitations" })
            #expect(try await sweeper.sweep().deleted == ["test_invitations": 1])
            #expect(try await Self.count(store, "SELECT owner_id FROM test_invitations") == 1)
        }
    }

    @Test("SEC-05 the sweeper service sweeps on its interval until it is stopped", arguments: Backend.enabled)
    func serviceSweepsOnInterval(backend: Backend) async throws {
        try await Self.withSweeper(backend) { store, clock, _ in
            try await RateLimiter(store: store).take("verify-ip:test", limit: RateLimitPolicy().verifyPerAddress)
            clock.advance(seconds: 3600)
            let service = RetentionSweeper(store: store, interval: .milliseconds(20), logger: quietLogger())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                var left = 1
                for _ in 0..<250 where left > 0 {
                    try await Task.sleep(for: .milliseconds(20))
                    left = try await Self.count(store, "SELECT bucket FROM rate_buckets")
                }
                #expect(left == 0)
                group.cancelAll()
            }
        }
    }
}
