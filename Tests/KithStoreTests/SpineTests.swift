import Foundation
import KithCore
import KithTestSupport
import SQLKit
import Synchronization
import Testing

@testable import KithStore

/// The SMS edge of the world, recorded: the only fake, where the provider's network would be.
final class RecordingGateway: MessageGateway {
    private let sent = Mutex<[OutboundMessage]>([])
    var messages: [OutboundMessage] { sent.withLock { $0 } }
    func deliver(_ message: OutboundMessage, sentAt: Int64) async throws { sent.withLock { $0.append(message) } }
}

@Suite("The spine: bound message evidence, chained consent evidence, acts about others")
struct SpineTests {
    static let initiation = Initiation(kind: .userRequest, action: "test", request: "r1")

    @Test("SEC-02 keys never print themselves, not inside a service or the store", arguments: Backend.enabled)
    func keysNeverPrint(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let sweeper = RetentionSweeper(store: store, logger: quietLogger())
            for text in [
                "\(store)", String(reflecting: store), "\(sweeper)", String(reflecting: sweeper), "\(testKeys)",
                String(reflecting: testKeys),
            ] {
                #expect(!text.contains("Bytes"), "a description shows key material: \(text.prefix(120))")
            }
            #expect("\(testKeys)" == "KithKeys(redacted)")
        }
    }

    @Test(
        "MSG-04 a message is sent only as its logged act authorised it: recipient, text and evidence bound",
        arguments: Backend.enabled
    )
    func boundMessages(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let gateway = RecordingGateway()
            let dispatcher = MessageDispatcher(gateway: gateway, store: store)
            let accounts = PhoneAccounts(store: store, codes: .seeding)
            let alice = try PhoneNumber.parse("+8613800000501").get()
            let bob = try PhoneNumber.parse("+8613800000502").get()
            let a = try await accounts.startVerification(phone: alice, requester: .test, initiation: Self.initiation)
                .message!
            let b = try await accounts.startVerification(phone: bob, requester: .test, initiation: Self.initiation)
                .message!
            let forged: [(String, AuthorisedMessage)] = [
                ("another recipient", AuthorisedMessage(id: a.id, to: bob, template: a.template, logSeq: a.logSeq)),
                (
                    "an altered text",
                    AuthorisedMessage(id: a.id, to: alice, template: .signInCode("000000"), logSeq: a.logSeq)
                ),
                (
                    "another message's evidence",
                    AuthorisedMessage(id: a.id, to: alice, template: a.template, logSeq: b.logSeq)
                ),
                (
                    "another message's record",
                    AuthorisedMessage(id: b.id, to: alice, template: a.template, logSeq: a.logSeq)
                ),
                (
                    "another kind",
                    AuthorisedMessage(id: a.id, to: alice, template: .optOutCode("123456"), logSeq: a.logSeq)
                ),
                ("no record", AuthorisedMessage(id: "m_none", to: alice, template: a.template, logSeq: a.logSeq)),
            ]
            for (what, message) in forged {
                await #expect(throws: KithError.self, "\(what) is refused") { try await dispatcher.send(message) }
            }
            #expect(gateway.messages.isEmpty, "nothing forged reached the outbox")

            let recipients = { @Sendable (id: String) in
                try await store.database.read { sql in
                    try await sql.raw("SELECT recipient_index FROM message_recipients WHERE message_id = \(bind: id)")
                        .all().map { try $0.decode(column: "recipient_index", as: String.self) }
                }
            }
            #expect(try await recipients(a.id) == [store.vault.blindIndex(alice)])
            try await dispatcher.send(a)
            #expect(try await recipients(a.id).isEmpty, "the recipient's keyed hash goes once the message is sent")
            #expect(gateway.messages.count == 1)
            #expect(gateway.messages[0].body == a.template.body)
            #expect(gateway.messages[0].evidence == "log:\(a.logSeq)")
            await #expect(throws: KithError.self, "one authorisation sends once") { try await dispatcher.send(a) }
            #expect(gateway.messages.count == 1)

            // The record holds the body as a keyed digest only.
            let row = try #require(
                try await store.database.read { sql in
                    try await sql.raw("SELECT * FROM outbound_messages WHERE id = \(bind: a.id)").first()
                }
            )
            #expect(try row.decode(column: "body_digest", as: String.self) != a.template.body.sha256Hex)
            #expect(try row.decode(column: "sent_at", as: Int64?.self) != nil)
            // The authorising entry names the message and its digest inside the chain, never the code.
            let entry = try #require(try await loggedEntries(store).first { $0.seq == a.logSeq })
            #expect(entry.evidence?["messageId"] == a.id)
            let code = a.template.body.filter(\.isNumber).prefix(6)
            #expect(!entry.canonicalJSON().contains(String(code)))
            #expect(try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey).isIntact)
        }
    }

    @Test("ACC-11 SEC-08 editing a consent row afterwards makes ledger verification fail", arguments: Backend.enabled)
    func consentRowTampering(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let user = try await AccountsAndConsentTests.signUp(store).user
            let ledger = ConsentLedger(store: store)
            let record = try await ledger.grant(
                AccountsAndConsentTests.evidence(store, .contactDiscovery),
                by: user,
                initiation: Self.initiation
            )
            let entry = try #require(try await loggedEntries(store).last)
            #expect(entry.evidence?["textSHA256"] == record.textSHA256)
            #expect(entry.evidence?["noticeVersion"] == String(record.noticeVersion))
            #expect(entry.evidence?["initialState"] == "unchecked")
            #expect(entry.evidence?["locale"] == "en")
            #expect(try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey).isIntact)

            for (column, value) in [
                ("text_sha256", String(repeating: "0", count: 64)), ("initial_state", "checked"), ("locale", "zh-CN"),
            ] {
                try await store.database.transaction { sql in
                    try await sql.raw(
                        "UPDATE consents SET \(unsafeRaw: column) = \(bind: value) WHERE id = \(bind: record.id)"
                    ).run()
                }
                let report = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
                #expect(!report.isIntact, "editing \(column) is detected")
                #expect(report.problems.contains { $0.contains(record.id) })
            }
            try await store.database.transaction { sql in
                try await sql.raw(
                    "UPDATE consents SET notice_version = 1, text_sha256 = \(bind: record.textSHA256), initial_state = 'unchecked', locale = 'en' WHERE id = \(bind: record.id)"
                ).run()
            }
            #expect(!(try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey).isIntact))
        }
    }

    @Test("ACC-01 the registration entry records the notice version shown at sign-up", arguments: Backend.enabled)
    func registrationNoticeVersion(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let accounts = PhoneAccounts(store: store, codes: .seeding)
            let phone = try PhoneNumber.parse("+8613800000511").get()
            let pending = try await accounts.startVerification(
                phone: phone,
                requester: .test,
                initiation: Self.initiation
            )
            await #expect(throws: KithError.self) {
                try await accounts.verify(
                    id: pending.id,
                    code: pending.code,
                    noticeVersion: 9,
                    initiation: Self.initiation
                )
            }
            _ = try await accounts.verify(
                id: pending.id,
                code: pending.code,
                noticeVersion: 1,
                initiation: Self.initiation
            )
            let created = try #require(try await loggedEntries(store).first { $0.detail.hasPrefix("account created") })
            #expect(created.evidence == ["noticeVersion": "1"])
        }
    }

    @Test("SEC-01 wrong and locked code attempts and sign-out are logged security events", arguments: Backend.enabled)
    func securityEvents(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let accounts = PhoneAccounts(store: store, codes: .seeding)
            let session = try await AccountsAndConsentTests.signUp(store)
            let pending = try await accounts.startVerification(
                phone: AccountsAndConsentTests.phone,
                requester: .test,
                initiation: Self.initiation
            )
            let wrong = pending.code == "000000" ? "111111" : "000000"
            for _ in 0..<(accounts.policy.maxAttempts + 1) {
                _ = try? await accounts.verify(id: pending.id, code: wrong, initiation: Self.initiation)
            }
            try await accounts.signOut(token: session.token, of: session.user, initiation: Self.initiation)
            #expect(try await accounts.authenticate(token: session.token) == nil)
            let entries = try await loggedEntries(store)
            let pseudonym = try await store.database.read { sql in
                try await SubjectKeys(store: store).pseudonym(of: session.user, on: sql)
            }
            let refused = entries.filter { $0.detail.hasPrefix("sign-in code attempt refused") }
            #expect(refused.filter { $0.detail.hasSuffix("(wrong)") }.count == accounts.policy.maxAttempts)
            #expect(refused.filter { $0.detail.hasSuffix("(locked)") }.count == 1)
            #expect(refused.allSatisfy { $0.subject == pseudonym && $0.actor == "anonymous" })
            #expect(entries.contains { $0.detail == "signed out" && $0.subject == pseudonym })
        }
    }

    @Test("SEC-01 acts about another person appear among that person's entries", arguments: Backend.enabled)
    func actsAboutOthers(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let network = SocialNetwork(store: store, replica: GraphReplica())
            let alice = try await AccountsAndConsentTests.signUp(store, try PhoneNumber.parse("+8613800000521").get())
            let bob = try await AccountsAndConsentTests.signUp(store, try PhoneNumber.parse("+8613800000522").get())
            let (request, _) = try await network.requestConnection(
                from: alice.user,
                to: bob.user,
                initiation: Self.initiation
            )
            _ = try await network.respond(
                to: request.requestId,
                by: bob.user,
                with: .accept,
                initiation: Self.initiation
            )
            _ = try await network.endorse(
                bob.user,
                by: alice.user,
                tag: .preset(.reliable),
                initiation: Self.initiation
            )
            try await network.block(bob.user, alice.user, initiation: Self.initiation)
            let (a, b) = try await store.database.read { sql in
                (
                    try await SubjectKeys(store: store).pseudonym(of: alice.user, on: sql),
                    try await SubjectKeys(store: store).pseudonym(of: bob.user, on: sql)
                )
            }
            let entries = try await loggedEntries(store)
            let aboutBob = entries.filter { $0.subject == b && $0.actor == a }.map(\.detail)
            #expect(aboutBob.contains("connection requested"))
            #expect(aboutBob.contains("endorsement given"))
            let aboutAlice = entries.filter { $0.subject == a && $0.actor == b }.map(\.detail)
            #expect(aboutAlice.contains("connection request answered: accept"))
            #expect(aboutAlice.contains("person blocked"))
        }
    }
}
