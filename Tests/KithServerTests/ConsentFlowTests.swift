import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import Testing

@testable import KithStore

@Suite("Notices and the consent ledger through the API (ACC-01..03, ACC-06, ACC-07, ACC-11)")
struct ConsentFlowTests {
    @Test("the notice is served in both languages with hashes a client can bind consent to (ACC-01)")
    func noticeServed() async throws {
        try await TestApp.run(.sqlite) { app in
            for locale in ["zh-CN", "en"] {
                let notice = try await app.call(.get, "/v1/privacy/notice?locale=\(locale)")
                #expect(notice.status == .ok)
                let text = try #require(notice.string("text"))
                #expect(notice.string("textSHA256") == text.sha256Hex)
                let purposes = try #require(notice.json["purposes"] as? [[String: Any]])
                let discovery = try #require(purposes.first { $0["id"] as? String == "contact-discovery" })
                #expect((discovery["consentText"] as? String)?.sha256Hex == discovery["consentTextSHA256"] as? String)
            }
            let bad = try await app.call(.get, "/v1/privacy/notice?locale=fr")
            #expect(bad.status == .unprocessableContent)
            #expect(bad.string("field") == "locale")
            let purposes = try await app.call(.get, "/v1/privacy/purposes")
            #expect((purposes.json["purposes"] as? [Any])?.count == PurposeCatalogue.standard.current.purposes.count)
        }
    }

    @Test("ACC-02 prechecked consent evidence is refused", arguments: Backend.enabled)
    func precheckedRefused(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000101")
            let purpose = app.services.store.catalogue.purpose(.contactDiscovery)!
            let reply = try await app.call(
                .post,
                "/v1/me/consents",
                token: token,
                json: [
                    "purpose": "contact-discovery", "noticeVersion": 1, "locale": "en",
                    "textSHA256": purpose.consentText(.en).sha256Hex, "initialState": "checked", "channel": "web",
                ]
            )
            #expect(reply.status == .unprocessableContent)
            #expect(reply.string("code") == "consent-prechecked")
            #expect(reply.string("field") == "initialState")
            let mine = try await app.call(.get, "/v1/me/consents", token: token)
            #expect((mine.json["records"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("ACC-03 each purpose is consented separately", arguments: Backend.enabled)
    func granular(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000102")
            #expect(try await app.grant(.contactDiscovery, token: token).status == .created)
            let mine = try await app.call(.get, "/v1/me/consents", token: token)
            let status = try #require(mine.json["status"] as? [[String: Any]])
            let granted = status.filter { $0["granted"] as? Bool == true }.compactMap { $0["purpose"] as? String }
            #expect(granted == ["contact-discovery"])
            let record = try #require((mine.json["records"] as? [[String: Any]])?.first)
            #expect(record["initialState"] as? String == "unchecked")
            #expect(record["noticeVersion"] as? Int == PurposeCatalogue.standard.current.version)
            #expect((record["evidence"] as? String)?.hasPrefix("log:") == true)
        }
    }

    @Test("ACC-07 withdrawal is one call and stops gated processing at once", arguments: Backend.enabled)
    func withdrawal(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, userID) = try await app.signUp("+8613800000103")
            let user = UserID(rawValue: userID)
            try await app.grant(.contactDiscovery, token: token)
            try await app.grant(.personalisedSuggestions, token: token)
            let act = ProcessingAct(
                purpose: .contactDiscovery,
                actor: .user(user),
                subject: user,
                initiation: Initiation(kind: .userRequest, action: "test"),
                detail: "test"
            )
            try await app.services.store.gate.check(act)
            let reply = try await app.call(.delete, "/v1/me/consents/contact-discovery", token: token)
            #expect(reply.status == .ok)
            #expect(reply.json["withdrawn"] as? Int == 1)
            await #expect(throws: KithError.consentRequired(.contactDiscovery)) {
                try await app.services.store.gate.check(act)
            }
            // Other consents and the core service are untouched (ACC-07, ACC-09).
            var other = act
            other.purpose = .personalisedSuggestions
            try await app.services.store.gate.check(other)
            #expect(try await app.call(.get, "/v1/me", token: token).status == .ok)
            // Withdrawing again is harmless.
            #expect(
                try await app.call(.delete, "/v1/me/consents/contact-discovery", token: token).json["withdrawn"] as? Int
                    == 0
            )
        }
    }

    /// The shipped catalogue with one more notice, which adds a purpose of its own.
    static func catalogueBumped() -> PurposeCatalogue {
        let standard = PurposeCatalogue.standard
        var next = standard.current
        next.version = standard.current.version + 1
        next.changeSummary = LocalizedText(zhCN: "新增简报目的。", en: "Adds a newsletter.")
        next.purposes.append(
            Purpose(
                id: "newsletter",
                basis: .consent,
                dataCategories: ["phone-number"],
                retentionDays: nil,
                retention: LocalizedText(zhCN: "直至您退订。", en: "Until you unsubscribe."),
                title: LocalizedText(zhCN: "简报", en: "Newsletter"),
                description: LocalizedText(
                    zhCN: "向您发送 Kith 简报，每条均可退订。",
                    en: "News about Kith; every message has an opt-out."
                ),
                consentRequiredSince: next.version
            )
        )
        return PurposeCatalogue(notices: standard.notices + [next])
    }

    @Test("ACC-06 bumped notice regates only its new purpose", arguments: Backend.enabled)
    func noticeBump(backend: Backend) async throws {
        try await withTestDatabaseURL(backend) { url in
            let session = Session()
            try await TestApp.run(backend, databaseURL: url) { app in
                let (token, user) = try await app.signUp("+8613800000104")
                #expect(try await app.grant(.contactDiscovery, token: token).status == .created)
                session.set(token, user)
            }
            try await TestApp.run(backend, catalogue: Self.catalogueBumped(), databaseURL: url) { app in
                let (token, userID) = session.get()
                let user = UserID(rawValue: userID)
                func act(_ purpose: PurposeID) -> ProcessingAct {
                    ProcessingAct(
                        purpose: purpose,
                        actor: .user(user),
                        subject: user,
                        initiation: Initiation(kind: .userRequest, action: "test"),
                        detail: "t"
                    )
                }
                try await app.services.store.gate.check(act(.contactDiscovery))
                await #expect(throws: KithError.consentRequired("newsletter")) {
                    try await app.services.store.gate.check(act("newsletter"))
                }
                let notice = try await app.call(.get, "/v1/privacy/notice?locale=en")
                #expect(notice.json["version"] as? Int == PurposeCatalogue.standard.current.version + 1)
                #expect(notice.string("changeSummary") == "Adds a newsletter.")
                // Consent evidence bound to the old notice is not reused.
                let stale = try await app.call(
                    .post,
                    "/v1/me/consents",
                    token: token,
                    json: [
                        "purpose": "newsletter", "noticeVersion": PurposeCatalogue.standard.current.version,
                        "locale": "en",
                        "textSHA256": app.services.store.catalogue.purpose("newsletter")!.consentText(.en).sha256Hex,
                        "initialState": "unchecked", "channel": "web",
                    ]
                )
                #expect(stale.status == .unprocessableContent)
                #expect(stale.string("code") == "notice-mismatch")
                #expect(try await app.grant("newsletter", token: token).status == .created)
                try await app.services.store.gate.check(act("newsletter"))
            }
        }
    }

    final class Session: @unchecked Sendable {
        private var value: (String, String) = ("", "")
        private let lock = NSLock()
        func set(_ token: String, _ user: String) { lock.withLock { value = (token, user) } }
        func get() -> (String, String) { lock.withLock { value } }
    }
}
