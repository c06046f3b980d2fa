import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("Marketing only with consent (MSG-06..08, ACC-12)")
struct MarketingTests {
    static func campaign(_ app: TestApp, _ body: [String: Any]) async throws -> TestApp.Reply {
        let credential = try await app.services.operators.create(
            name: "marketing.\(UUID().uuidString.prefix(8).lowercased())",
            initiation: Initiation(kind: .operatorCommand, action: "test")
        )
        return try await app.call(.post, "/v1/operator/marketing-campaigns", token: credential.token, json: body)
    }

    @Test(
        "MSG-06 MSG-07 a campaign reaches only people with the marketing consent, names the sender, offers STOP, and says whom it skipped and why",
        arguments: Backend.enabled
    )
    func onlyWithConsent(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let ann = try await app.person(1, name: "Ann")  // consents
            let bob = try await app.person(2, name: "Bob")  // never consents
            let cy = try await app.person(3, name: "Cy")  // consents, then unsubscribes
            let dee = try await app.person(4, name: "Dee")  // consents, then replies STOP
            for person in [ann, cy, dee] {
                #expect(try await app.grant(.marketing, token: person.token).status == .created)
            }
            #expect(try await app.call(.post, "/v1/me/marketing/unsubscription", token: cy.token).status == .noContent)
            #expect(try await app.inbound(from: dee.phone, text: "回T退订").status == .noContent)
            let before = app.outboxMessages().count
            let reply = try await Self.campaign(app, ["text": "Kith now suggests classmates."])
            #expect(reply.status == .created, "\(reply.body)")
            #expect(reply.json["sent"] as? Int == 1)
            let skipped = try #require(reply.json["skipped"] as? [String: Int])
            #expect(skipped["no-consent"] == 1 && skipped["unsubscribed"] == 2, "\(skipped)")
            let sent = app.outboxMessages().dropFirst(before)
            #expect(sent.map { $0["to"] } == [ann.phone])
            let line = try #require(sent.first)
            #expect(line["kind"] == "marketing" && line["sender"] == "kith-marketing")
            #expect(line["body"]?.hasPrefix("【Kith】") == true && line["body"]?.contains("回T退订") == true)
            #expect(!sent.contains { $0["to"] == bob.phone })
            // Codes keep the transactional sender, and never carry campaign words.
            #expect(app.outboxMessages().prefix(before).allSatisfy { $0["sender"] == "kith-transactional" })
            // Within the frequency cap, the same person gets nothing more.
            let again = try await Self.campaign(app, ["text": "And people from your city."])
            #expect(again.json["sent"] as? Int == 0 && (again.json["skipped"] as? [String: Int])?["frequency-cap"] == 1)
            clock.advance(seconds: 7 * 86_400 + 1)
            #expect(try await Self.campaign(app, ["text": "A week later."]).json["sent"] as? Int == 1)
        }
    }

    @Test(
        "MSG-07 a transactional template cannot carry marketing words, and a marketing message cannot rest on a transactional act",
        arguments: Backend.enabled
    )
    func transactionalStaysTransactional(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann")
            let store = app.services.store
            let phone = try PhoneNumber.parse(ann.phone).get()
            let user = UserID(rawValue: ann.id)
            let initiation = Initiation(kind: .operatorCommand, action: "test")
            let account = ProcessingAct.own(.account, by: user, initiation: initiation, detail: "test")
            for template in [MessageTemplate.signInCode("50% off today!"), .accountDeletionCode("Buy now")] {
                #expect(!template.isWellFormed)
                await #expect(throws: KithError.self) {
                    _ = try await store.database.transaction { sql in
                        try await MessageDispatcher.authorise(template, to: phone, by: account, store: store, on: sql)
                    }
                }
            }
            await #expect(throws: KithError.self) {
                _ = try await store.database.transaction { sql in
                    try await MessageDispatcher.authorise(
                        .marketing("Hi"),
                        to: phone,
                        by: account,
                        store: store,
                        on: sql
                    )
                }
            }
            // A marketing act without the person's consent is refused by the gate itself.
            let marketing = ProcessingAct(
                purpose: .marketing,
                actor: .operator("marketing"),
                subject: user,
                initiation: initiation,
                detail: "test"
            )
            await #expect(throws: KithError.self) {
                _ = try await store.database.transaction { sql in
                    try await MessageDispatcher.authorise(
                        .marketing("Hi"),
                        to: phone,
                        by: marketing,
                        store: store,
                        on: sql
                    )
                }
            }
            #expect(try await app.count("outbound_messages") == 1, "only the sign-in code")
        }
    }

    @Test(
        "MSG-06 unsubscribing works at once: a message authorised before it is not sent",
        arguments: Backend.enabled
    )
    func unsubscribeAtOnce(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann")
            _ = try await app.grant(.marketing, token: ann.token)
            let (_, messages) = try await app.services.marketing.send(
                text: "Hello",
                audience: nil,
                by: "marketing",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            #expect(messages.count == 1)
            #expect(try await app.call(.post, "/v1/me/marketing/unsubscription", token: ann.token).status == .noContent)
            let before = app.outboxMessages().count
            await #expect(throws: KithError.self) { try await app.services.messages.send(messages[0]) }
            #expect(app.outboxMessages().count == before)
        }
    }

    @Test(
        "MSG-08 a campaign selected by profile reaches only people who consented to personalised marketing",
        arguments: Backend.enabled
    )
    func personalisedNeedsItsOwnConsent(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann", fields: ["city": "杭州"])
            let bob = try await app.person(2, name: "Bob", fields: ["city": "杭州"])
            let cy = try await app.person(3, name: "Cy", fields: ["city": "上海"])
            for person in [ann, bob, cy] { _ = try await app.grant(.marketing, token: person.token) }
            for person in [ann, cy] { _ = try await app.grant(.personalisedMarketing, token: person.token) }
            let before = app.outboxMessages().count
            let reply = try await Self.campaign(app, ["text": "Meet-up in Hangzhou", "audience": ["city": "杭州"]])
            #expect(reply.status == .created, "\(reply.body)")
            #expect(app.outboxMessages().dropFirst(before).map { $0["to"] } == [ann.phone])
            let skipped = try #require(reply.json["skipped"] as? [String: Int])
            #expect(skipped["no-personalised-consent"] == 1 && skipped["not-in-audience"] == 1, "\(skipped)")
            // The selection is logged as a personalised-marketing act resting on Ann's consent.
            let pseudonym = try await LogCoverageTests.pseudonym(of: ann.id, app)
            #expect(
                try await loggedEntries(app.services.store).contains {
                    $0.purpose == .personalisedMarketing && $0.subject == pseudonym
                        && $0.basisRef?.hasPrefix("consent:") == true
                }
            )
            // Without an audience, no profile data is used: everyone with the marketing consent.
            let plain = try await Self.campaign(app, ["text": "News for everyone"])
            #expect(plain.json["sent"] as? Int == 2, "\(plain.body)")  // Bob and Cy; Ann is within the cap
        }
    }
}
