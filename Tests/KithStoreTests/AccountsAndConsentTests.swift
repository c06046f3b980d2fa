import KithCore
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("Accounts, consent ledger and the processing gate")
struct AccountsAndConsentTests {
    static let phone = try! PhoneNumber.parse("+8613912345678").get()
    static let initiation = Initiation(kind: .userRequest, action: "test", request: "r1")

    static func signUp(_ store: KithStore, _ phone: PhoneNumber = phone) async throws -> Session {
        let accounts = PhoneAccounts(store: store, codes: .seeding)
        let pending = try await accounts.startVerification(phone: phone, requester: .test, initiation: initiation)
        return try await accounts.verify(id: pending.id, code: pending.code, initiation: initiation)
    }

    static func evidence(_ store: KithStore, _ purpose: PurposeID) -> ConsentEvidence {
        store.catalogue.evidenceAsShown(purpose)!
    }

    @Test("ACC-05 every account has a self registration event", arguments: Backend.enabled)
    func selfRegistration(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let session = try await Self.signUp(store)
            #expect(session.newAccount)
            let again = try await Self.signUp(store)
            #expect(!again.newAccount)
            #expect(again.user == session.user)
            let evidence = try await store.database.read { sql in
                try await sql.raw("SELECT registration_evidence FROM users WHERE id = \(bind: session.user.rawValue)")
                    .first()!
                    .decode(column: "registration_evidence", as: String.self)
            }
            let seq = Int(evidence.dropFirst(4))!
            let entry = try await store.database.read { sql in
                try await sql.raw("SELECT entry FROM processing_log WHERE seq = \(bind: seq)").first()!.decode(
                    column: "entry",
                    as: String.self
                )
            }
            #expect(entry.contains("account created by the person's own verified phone number"))
        }
    }

    @Test("SEC-02: phone numbers are stored only encrypted and blind-indexed", arguments: Backend.enabled)
    func phoneEncryptedAtRest(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let session = try await Self.signUp(store)
            let row = try await store.database.read { sql in
                try await sql.raw(
                    "SELECT phone_index, phone_cipher FROM users WHERE id = \(bind: session.user.rawValue)"
                ).first()!
            }
            let index = try row.decode(column: "phone_index", as: String.self)
            let cipher = try row.decode(column: "phone_cipher", as: String.self)
            #expect(!index.contains("13912345678") && !cipher.contains("13912345678"))
            #expect(index == store.vault.blindIndex(Self.phone))
            #expect(index != Self.phone.e164.sha256Hex)
            #expect(try store.vault.decryptPhone(cipher) == Self.phone)
        }
    }

    @Test("ACC-07 withdrawal stops gated processing at once", arguments: Backend.enabled)
    func withdrawalStopsProcessing(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let user = try await Self.signUp(store).user
            let act = ProcessingAct(
                purpose: .contactDiscovery,
                actor: .user(user),
                subject: user,
                initiation: Self.initiation,
                detail: "test"
            )
            await #expect(throws: KithError.consentRequired(.contactDiscovery)) { try await store.gate.check(act) }
            _ = try await ConsentLedger(store: store).grant(
                Self.evidence(store, .contactDiscovery),
                by: user,
                initiation: Self.initiation
            )
            let (_, entry) = try await store.gate.perform(act) { _ in () }
            #expect(entry.basisRef?.hasPrefix("consent:c_") == true)
            try await ConsentLedger(store: store).withdraw(.contactDiscovery, by: user, initiation: Self.initiation)
            await #expect(throws: KithError.consentRequired(.contactDiscovery)) {
                try await store.gate.perform(act) { _ in () }
            }
            // A purpose that does not rest on this consent keeps working (ACC-07, ACC-09).
            let account = ProcessingAct(
                purpose: .account,
                actor: .user(user),
                subject: user,
                initiation: Self.initiation,
                detail: "test"
            )
            _ = try await store.gate.perform(account) { _ in () }
        }
    }

    @Test("a refused gate leaves no half-written change and no log entry", arguments: Backend.enabled)
    func refusedGateWritesNothing(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let user = try await Self.signUp(store).user
            let before = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey).entries
            let act = ProcessingAct(
                purpose: .contactDiscovery,
                actor: .user(user),
                subject: user,
                initiation: Self.initiation,
                detail: "test"
            )
            await #expect(throws: KithError.self) {
                try await store.gate.perform(act) { sql in
                    try await sql.raw("DELETE FROM sessions").run()
                }
            }
            let after = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(after.entries == before)
            #expect(after.isIntact)
            let sessions = try await store.database.read { sql in
                try await sql.raw("SELECT token_hash FROM sessions").all().count
            }
            #expect(sessions == 1)
        }
    }

    @Test("crypto-shredding: destroying a subject key keeps the chain verifying", arguments: Backend.enabled)
    func cryptoShredding(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let user = try await Self.signUp(store).user
            let pseudonym = try await store.database.read { sql in
                try await SubjectKeys(store: store).pseudonym(of: user, on: sql)
            }
            #expect(pseudonym.hasPrefix("s:"))
            try await store.database.transaction { sql in
                try await SubjectKeys(store: store).destroy(for: user, on: sql)
            }
            let after = try await store.database.read { sql in
                try await SubjectKeys(store: store).pseudonym(of: user, on: sql)
            }
            #expect(after == "erased")
            #expect(try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey).isIntact)
        }
    }

    @Test("rate-limit buckets live in the store and refuse past the burst", arguments: Backend.enabled)
    func sharedRateLimits(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let limiter = RateLimiter(store: store)
            let limit = RateLimit.perHour(1, burst: 2)
            try await limiter.take("test-bucket", limit: limit)
            try await limiter.take("test-bucket", limit: limit)
            await #expect(throws: KithError.self) { try await limiter.take("test-bucket", limit: limit) }
            try await limiter.take("other-bucket", limit: limit)
        }
    }
}
