import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

/// Drives the network API as people would: sign up, fill in profiles, connect.
extension TestApp {
    struct Person: Sendable {
        var token: String
        var id: String
        var phone: String
    }

    func person(_ n: Int, name: String? = nil, fields: [String: Any] = [:]) async throws -> Person {
        let phone = "+86138\(String(format: "%08d", 40_000 + n))"
        let (token, id) = try await signUp(phone)
        var body = fields
        if let name { body["displayName"] = name }
        if !body.isEmpty {
            let reply = try await call(.patch, "/v1/me/profile", token: token, json: body)
            #expect(reply.status == .ok, "\(reply.body)")
        }
        return Person(token: token, id: id, phone: phone)
    }

    func connect(_ a: Person, _ b: Person) async throws {
        let asked = try await call(.post, "/v1/me/connection-requests", token: a.token, json: ["userId": b.id])
        #expect(asked.status == .created, "\(asked.body)")
        let id = try #require(asked.string("requestId"))
        let accepted = try await call(
            .post,
            "/v1/me/connection-requests/\(id)",
            token: b.token,
            json: ["action": "accept"]
        )
        #expect(accepted.string("status") == "accepted")
    }

    func setSuggestions(_ person: Person, _ body: [String: Any]) async throws -> Reply {
        try await call(.put, "/v1/me/suggestion-settings", token: person.token, json: body)
    }

    /// Turns a consent switch of the suggestion settings on, binding it to the text the server shows.
    func consentTo(_ key: String, _ person: Person) async throws {
        let settings = try await call(.get, "/v1/me/suggestion-settings?locale=en", token: person.token)
        let control = try #require(settings.json[key] as? [String: Any])
        #expect(control["on"] as? Bool == false, "\(key) must start off")
        let reply = try await setSuggestions(
            person,
            [
                key: true, "noticeVersion": control["noticeVersion"] as! Int, "locale": "en",
                "textSHA256": control["textSHA256"] as! String, "initialState": "unchecked", "channel": "ios",
            ]
        )
        #expect(reply.status == .ok, "\(reply.body)")
    }

    func suggestions(_ person: Person, locale: String = "en") async throws -> (list: [String: Any], ids: [String]) {
        let reply = try await call(.get, "/v1/me/suggestions?locale=\(locale)", token: person.token)
        #expect(reply.status == .ok, "\(reply.body)")
        let items = reply.json["suggestions"] as? [[String: Any]] ?? []
        return (reply.json, items.compactMap { ($0["person"] as? [String: Any])?["userId"] as? String })
    }

    func reasons(_ person: Person, for candidate: Person) async throws -> [[String: String]] {
        let items = try await call(.get, "/v1/me/suggestions?locale=en", token: person.token).json["suggestions"]
        let item = (items as? [[String: Any]] ?? []).first {
            ($0["person"] as? [String: Any])?["userId"] as? String == candidate.id
        }
        return item?["reasons"] as? [[String: String]] ?? []
    }
}

@Suite("Profiles and connections (issue 4 §1–3)")
struct ConnectionTests {
    @Test("PYM-04 profile fields pass one visibility filter", arguments: Backend.enabled)
    func visibility(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(
                1,
                name: "Ann",
                fields: [
                    "headline": "Engineer", "employer": "Acme", "city": "Shanghai",
                    "visibility": ["city": "only-me"],
                ]
            )
            let bob = try await app.person(2, name: "Bob")
            var seen = try await app.call(.get, "/v1/users/\(ann.id)/profile", token: bob.token)
            #expect(seen.json["fields"] as? [String: String] == ["displayName": "Ann", "headline": "Engineer"])
            #expect(seen.json["visibility"] == nil)
            try await app.connect(bob, ann)
            seen = try await app.call(.get, "/v1/users/\(ann.id)/profile", token: bob.token)
            #expect(seen.json["relationship"] as? String == "connection")
            #expect(
                seen.json["fields"] as? [String: String]
                    == ["displayName": "Ann", "headline": "Engineer", "employer": "Acme"],
                "employer defaults to connections; city is only-me"
            )
            let own = try await app.call(.get, "/v1/users/\(ann.id)/profile", token: ann.token)
            #expect((own.json["fields"] as? [String: String])?["city"] == "Shanghai")
            #expect((own.json["visibility"] as? [String: String])?["school"] == "connections")
            let unknown = try await app.call(.get, "/v1/users/nobody/profile", token: bob.token)
            #expect(unknown.status == .notFound)
        }
    }

    @Test("connection requests: accept, decline, withdraw, pairs, remove", arguments: Backend.enabled)
    func requests(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            let cat = try await app.person(3)
            let asked = try await app.call(
                .post,
                "/v1/me/connection-requests",
                token: ann.token,
                json: ["userId": bob.id]
            )
            #expect(asked.status == .created)
            let again = try await app.call(
                .post,
                "/v1/me/connection-requests",
                token: ann.token,
                json: ["userId": bob.id]
            )
            #expect(again.status == .ok)
            #expect(again.string("requestId") == asked.string("requestId"))
            let pending = try await app.call(.get, "/v1/me/connection-requests", token: bob.token)
            #expect((pending.json["incoming"] as? [[String: Any]])?.count == 1)
            let id = try #require(asked.string("requestId"))
            // Only the recipient accepts or declines; only the sender withdraws.
            #expect(
                try await app.call(
                    .post,
                    "/v1/me/connection-requests/\(id)",
                    token: ann.token,
                    json: ["action": "accept"]
                )
                .status == .notFound
            )
            #expect(
                try await app.call(
                    .post,
                    "/v1/me/connection-requests/\(id)",
                    token: cat.token,
                    json: ["action": "decline"]
                )
                .status == .notFound
            )
            let declined = try await app.call(
                .post,
                "/v1/me/connection-requests/\(id)",
                token: bob.token,
                json: ["action": "decline"]
            )
            #expect(declined.string("status") == "declined")
            #expect(
                try await app.call(
                    .post,
                    "/v1/me/connection-requests/\(id)",
                    token: bob.token,
                    json: ["action": "accept"]
                )
                .status == .conflict
            )
            // A request both ways connects at once.
            _ = try await app.call(.post, "/v1/me/connection-requests", token: ann.token, json: ["userId": cat.id])
            let pair = try await app.call(
                .post,
                "/v1/me/connection-requests",
                token: cat.token,
                json: ["userId": ann.id]
            )
            #expect(pair.string("status") == "accepted")
            let list = try await app.call(.get, "/v1/users/\(ann.id)/connections", token: ann.token)
            #expect((list.json["connections"] as? [[String: Any]])?.compactMap { $0["userId"] as? String } == [cat.id])
            #expect(
                try await app.call(.post, "/v1/me/connection-requests", token: ann.token, json: ["userId": cat.id])
                    .status == .conflict
            )
            // Withdraw.
            let toBob = try await app.call(
                .post,
                "/v1/me/connection-requests",
                token: cat.token,
                json: ["userId": bob.id]
            )
            let withdrawn = try await app.call(
                .post,
                "/v1/me/connection-requests/\(try #require(toBob.string("requestId")))",
                token: cat.token,
                json: ["action": "withdraw"]
            )
            #expect(withdrawn.string("status") == "withdrawn")
            // Remove.
            #expect(try await app.call(.delete, "/v1/me/connections/\(cat.id)", token: ann.token).status == .noContent)
            #expect(try await app.call(.delete, "/v1/me/connections/\(cat.id)", token: ann.token).status == .notFound)
            let after = try await app.call(.get, "/v1/users/\(ann.id)/connections", token: ann.token)
            #expect((after.json["connections"] as? [[String: Any]])?.isEmpty == true)
            #expect(
                try await app.call(.post, "/v1/me/connection-requests", token: ann.token, json: ["userId": ann.id])
                    .status == .notFound
            )
        }
    }

    @Test("blocking ends the connection and hides both from each other everywhere", arguments: Backend.enabled)
    func blocking(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann")
            let bob = try await app.person(2, name: "Bob")
            let cat = try await app.person(3, name: "Cat")
            try await app.connect(ann, bob)
            try await app.connect(bob, cat)
            try await app.connect(ann, cat)
            #expect(
                try await app.call(.post, "/v1/me/blocks", token: ann.token, json: ["userId": bob.id]).status
                    == .noContent
            )
            #expect(try await app.call(.get, "/v1/users/\(ann.id)/profile", token: bob.token).status == .notFound)
            #expect(try await app.call(.get, "/v1/users/\(bob.id)/profile", token: ann.token).status == .notFound)
            let request = try await app.call(
                .post,
                "/v1/me/connection-requests",
                token: bob.token,
                json: ["userId": ann.id]
            )
            #expect(request.status == .notFound, "a block is not disclosed")
            let mine = try await app.call(.get, "/v1/users/\(ann.id)/connections", token: ann.token)
            #expect((mine.json["connections"] as? [[String: Any]])?.compactMap { $0["userId"] as? String } == [cat.id])
            // Cat's list, seen by Ann, leaves Bob out.
            let cats = try await app.call(.get, "/v1/users/\(cat.id)/connections", token: ann.token)
            #expect((cats.json["connections"] as? [[String: Any]])?.compactMap { $0["userId"] as? String } == [ann.id])
            // Neither reaches the other through the second degree or suggestions.
            let second = try await app.call(.get, "/v1/me/network/second-degree", token: ann.token)
            #expect((second.json["people"] as? [[String: Any]])?.isEmpty == true)
            try await app.consentTo("personalised", bob)
            #expect(!(try await app.suggestions(bob).ids.contains(ann.id)))
            #expect(try await app.call(.delete, "/v1/me/blocks/\(bob.id)", token: ann.token).status == .noContent)
            #expect(try await app.call(.get, "/v1/users/\(ann.id)/profile", token: bob.token).status == .ok)
        }
    }

    @Test("PYM-04 a hidden connection list is never named or counted", arguments: Backend.enabled)
    func hiddenList(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.person(1, name: "Vera")
            let open1 = try await app.person(2, name: "Olga")
            let open2 = try await app.person(3, name: "Omar")
            let hider = try await app.person(4, name: "Hugo", fields: ["hideConnections": true])
            let x = try await app.person(5, name: "Xavi")
            let y = try await app.person(6, name: "Yuki")
            for mutual in [open1, open2, hider] { try await app.connect(viewer, mutual) }
            try await app.connect(open1, x)
            try await app.connect(open2, x)
            try await app.connect(hider, x)
            try await app.connect(hider, y)
            let second = try await app.call(.get, "/v1/me/network/second-degree", token: viewer.token)
            let people = try #require(second.json["people"] as? [[String: Any]])
            #expect(people.count == 1, "Yuki is reachable only through a hidden list")
            #expect((people[0]["person"] as? [String: Any])?["userId"] as? String == x.id)
            #expect(people[0]["mutualCount"] as? Int == 2)
            let named = (people[0]["mutuals"] as? [[String: Any]] ?? []).compactMap { $0["displayName"] as? String }
            #expect(Set(named) == ["Olga", "Omar"])
            #expect(
                try await app.call(.get, "/v1/users/\(hider.id)/connections", token: viewer.token).status == .forbidden
            )
            try await app.consentTo("personalised", viewer)
            let (list, ids) = try await app.suggestions(viewer)
            #expect(ids == [x.id])
            #expect(!list.description.contains("Hugo"))
            let reasons = try await app.reasons(viewer, for: x)
            #expect(reasons.first?["code"] == "mutual-connections")
            #expect(reasons.first?["text"]?.hasPrefix("2 mutual connections: ") == true)
        }
    }
}

@Suite("Suggestions for people with few connections (issue 16)")
struct SparseSuggestionTests {
    /// Vera knows only Mo; Mo knows three people, who know twelve more between them (one of the three hides
    /// their list, so their four are out of reach). Ten suitable people exist within three steps: Vera gets ten.
    @Test(
        "PYM-04 a viewer with one connection gets a full list from three steps away, with an honest reason",
        arguments: Backend.enabled
    )
    func threeSteps(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.person(1, name: "Vera")
            let mo = try await app.person(2, name: "Mo")
            try await app.connect(viewer, mo)
            var bridges: [TestApp.Person] = []
            for n in 0..<3 {
                let bridge = try await app.person(10 + n, name: "Bridge\(n)", fields: ["hideConnections": n == 2])
                try await app.connect(mo, bridge)
                bridges.append(bridge)
            }
            var farPeople: [[TestApp.Person]] = []
            for (index, bridge) in bridges.enumerated() {
                var people: [TestApp.Person] = []
                for n in 0..<4 {
                    let person = try await app.person(20 + index * 4 + n, name: "Far\(index)\(n)")
                    try await app.connect(bridge, person)
                    people.append(person)
                }
                farPeople.append(people)
            }
            let far = farPeople.map { $0.map(\.id) }
            // One of the first bridge's people also knows the second bridge: two bridges, ranked first of its kind.
            try await app.connect(bridges[1], farPeople[0][0])
            try await app.consentTo("personalised", viewer)

            let reply = try await app.call(.get, "/v1/me/suggestions?locale=en&limit=10", token: viewer.token)
            let items = try #require(reply.json["suggestions"] as? [[String: Any]])
            let ids = items.compactMap { ($0["person"] as? [String: Any])?["userId"] as? String }
            #expect(ids.count == 10)
            #expect(Array(ids.prefix(3)).sorted() == bridges.map(\.id).sorted(), "two steps first")
            #expect(ids[3] == far[0][0], "two bridges beat one")
            #expect(Set(ids.dropFirst(3)).isSubset(of: Set(far[0] + far[1])))
            #expect(Set(ids).isDisjoint(with: far[2]), "the hidden list leads nowhere")
            for item in items.dropFirst(3) {
                let reasons = item["reasons"] as? [[String: String]] ?? []
                #expect(reasons.map { $0["code"] } == ["extended-network"])
                #expect(reasons.first?["text"]?.hasPrefix("Connected to ") == true)
                #expect(!"\(reasons)".contains("Bridge"), "no one on the way is named")
            }
            let first = (items[3]["reasons"] as? [[String: String]])?.first?["text"]
            #expect(first == "Connected to 2 people your connections know")
            // The explanation says the same.
            let explained = try await app.call(
                .get,
                "/v1/me/suggestions/\(far[1][0])/explanation?locale=en",
                token: viewer.token
            )
            #expect(explained.status == .ok)
            #expect("\(explained.json)".contains("extended-network"))
            // Without personalisation the list is the plain one: no three-step reasons (PYM-02).
            _ = try await app.call(.delete, "/v1/me/consents/personalised-suggestions", token: viewer.token)
            let plain = try await app.call(.get, "/v1/me/suggestions?locale=en", token: viewer.token)
            #expect(plain.json["personalised"] as? Bool == false)
            #expect(!plain.body.contains("extended-network"))
        }
    }
}

@Suite("Endorsements (MSG-01; Wang v. Maimai)")
struct EndorsementTests {
    @Test("MSG-01 endorsing needs a connection and sends nothing", arguments: Backend.enabled)
    func endorse(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann")
            let bob = try await app.person(2, name: "Bob")
            let cat = try await app.person(3, name: "Cat")
            let before = app.outboxMessages().count
            let stranger = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["preset": "reliable"]
            )
            #expect(stranger.status == .forbidden)
            let nonUser = try await app.call(
                .post,
                "/v1/users/not-a-user/endorsements",
                token: ann.token,
                json: ["text": "清北王淼"]
            )
            #expect(nonUser.status == .forbidden)
            try await app.connect(ann, bob)
            let given = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["preset": "mentor"]
            )
            #expect(given.status == .created)
            let tagged = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["text": "Swift 高手"]
            )
            #expect(tagged.status == .created)
            let both = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["text": "x", "preset": "mentor"]
            )
            #expect(both.status == .unprocessableContent)
            #expect(app.outboxMessages().count == before, "endorsing sends no message to anyone")
            let own = try await app.call(.get, "/v1/users/\(bob.id)/profile?locale=en", token: bob.token)
            let endorsements = try #require(own.json["endorsements"] as? [[String: Any]])
            #expect(Set(endorsements.compactMap { $0["label"] as? String }) == ["Great mentor", "Swift 高手"])
            let id = try #require(given.string("endorsementId"))
            #expect(
                try await app.call(.patch, "/v1/me/endorsements/\(id)", token: ann.token, json: ["hidden": true]).status
                    == .notFound,
                "only the endorsed person hides"
            )
            #expect(
                try await app.call(.patch, "/v1/me/endorsements/\(id)", token: bob.token, json: ["hidden": true]).status
                    == .noContent
            )
            let others = try await app.call(.get, "/v1/users/\(bob.id)/profile", token: cat.token)
            #expect(
                (others.json["endorsementCounts"] as? [[String: Any]])?.compactMap { $0["tag"] as? String } == [
                    "text:Swift 高手"
                ]
            )
            let taggedId = try #require(tagged.string("endorsementId"))
            #expect(
                try await app.call(.delete, "/v1/me/endorsements/\(taggedId)", token: bob.token).status == .noContent
            )
            let after = try await app.call(.get, "/v1/users/\(bob.id)/profile", token: cat.token)
            #expect((after.json["endorsementCounts"] as? [[String: Any]])?.isEmpty == true)
            #expect(app.outboxMessages().count == before)
        }
    }
}

@Suite("People you may know (PYM-01..04, PYM-08, DSR-09; Ling v. Douyin)")
struct SuggestionAPITests {
    @Test("PYM-02 personalisation off gives a plain labelled list", arguments: Backend.enabled)
    func plainList(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.person(
                1,
                name: "Vera",
                fields: ["employer": "Acme", "visibility": ["employer": "everyone"]]
            )
            let hub = try await app.person(2, name: "Hana")
            let colleague = try await app.person(
                3,
                name: "Carl",
                fields: ["employer": "Acme", "visibility": ["employer": "everyone"]]
            )
            for n in 4...6 { try await app.connect(hub, try await app.person(n, name: "P\(n)")) }
            let (list, ids) = try await app.suggestions(viewer)
            #expect(list["personalised"] as? Bool == false)
            #expect(list["label"] as? String == "Not personalised: no personal characteristics used")
            #expect(ids.first == hub.id, "the most connected person first")
            #expect(!ids.contains(colleague.id), "no personal characteristic (the employer) is used")
            let reasons = try await app.reasons(viewer, for: hub)
            #expect(reasons.map { $0["code"] } == ["non-personalised"])
            let log = try await app.services.store.database.read { sql in
                try await sql.raw("SELECT purpose FROM processing_log WHERE purpose = 'personalised-suggestions'").all()
                    .count
            }
            #expect(log == 0, "nothing was processed for personalisation")
            // On: personalised, labelled, and the colleague is suggested for the shared employer.
            try await app.consentTo("personalised", viewer)
            let on = try await app.suggestions(viewer)
            #expect(on.list["personalised"] as? Bool == true)
            #expect(on.ids.contains(colleague.id))
            #expect(
                try await app.reasons(viewer, for: colleague) == [
                    ["code": "same-employer", "text": "Also works at Acme"]
                ]
            )
            // Off again takes effect on the next request.
            let off = try await app.setSuggestions(viewer, ["personalised": false])
            #expect(off.status == .ok)
            // PYM-03: turning it off says what personalisation used and how to delete each.
            let deletable = (off.json["personalisationData"] as? [[String: String]] ?? []).compactMap {
                $0["deleteWith"]
            }
            #expect(deletable == ["removeConnection", "deleteMyContacts", "updateProfile"])
            #expect(try await app.suggestions(viewer).list["personalised"] as? Bool == false)
        }
    }

    @Test(
        "PYM-01 PYM-04 they have your number needs the viewer's consent and the uploader's own, both ways",
        arguments: Backend.enabled
    )
    func reverseContacts(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.person(1, name: "Ling")
            let uploader = try await app.person(2, name: "Uma")
            try await DiscoveryTests.makeDiscoverable(app, token: uploader.token)
            try await DiscoveryTests.makeDiscoverable(app, token: viewer.token)
            try await app.grant(.contactDiscovery, token: uploader.token)
            let matched = try await DiscoveryTests.upload(app, token: uploader.token, [viewer.phone])
            #expect(DiscoveryTests.matchedUsers(matched) == [viewer.id])
            try await app.consentTo("personalised", viewer)
            #expect(!(try await app.suggestions(viewer).ids.contains(uploader.id)), "only signal is 'has your number'")
            try await app.consentTo("reverseContactSuggestions", viewer)
            // The uploader agreed to contact discovery only: the reason would tell the viewer what is in the
            // uploader's address book, so neither the reason nor the suggestion appears.
            #expect(!(try await app.suggestions(viewer).ids.contains(uploader.id)), "the uploader did not agree")
            try await app.consentTo("suggestMeToMyContacts", uploader)
            #expect(try await app.reasons(viewer, for: uploader).map { $0["code"] } == ["they-have-your-number"])
            // The uploader, for their part, sees "you have their number".
            try await app.consentTo("personalised", uploader)
            #expect(
                try await app.reasons(uploader, for: viewer)
                    == [["code": "you-have-their-number", "text": "You have their number in your contacts"]]
            )
            // Either consent withdrawn, the suggestion goes, on the next request.
            _ = try await app.call(.delete, "/v1/me/consents/suggest-me-to-my-contacts", token: uploader.token)
            #expect(!(try await app.suggestions(viewer).ids.contains(uploader.id)))
            try await app.consentTo("suggestMeToMyContacts", uploader)
            #expect(try await app.suggestions(viewer).ids.contains(uploader.id))
            _ = try await app.call(.delete, "/v1/me/consents/reverse-contact-suggestions", token: viewer.token)
            #expect(!(try await app.suggestions(viewer).ids.contains(uploader.id)))
            #expect(
                try await app.call(.get, "/v1/me/suggestions/\(uploader.id)/explanation", token: viewer.token).status
                    == .notFound
            )
        }
    }

    @Test("PYM-04 the notice says what each contact purpose does and does not do, in both languages")
    func contactPurposeTexts() throws {
        let notice = PurposeCatalogue.standard.current
        let mine = try #require(notice.purpose(.suggestMeToMyContacts))
        #expect(mine.basis == .consent && mine.consentRequiredSince == 2, "introduced by notice version 2")
        #expect(mine.description.en.contains("they learn from it that your address book holds their number"))
        #expect(mine.description.zhCN.contains("他们由此得知您的通讯录里有他们的号码"))
        #expect(mine.description.en.hasSuffix("Off by default."))
        let discovery = try #require(notice.purpose(.contactDiscovery))
        #expect(discovery.description.en.contains("does not by itself make you suggested"))
        let reverse = try #require(notice.purpose(.reverseContactSuggestions))
        #expect(reverse.description.en.contains("who themselves agreed"))
        // Narrowing changes: consents given under version 1 still count.
        #expect(PurposeCatalogue.standard.consentIsCurrent(for: .reverseContactSuggestions, givenUnder: 1))
        #expect(!PurposeCatalogue.standard.consentIsCurrent(for: .suggestMeToMyContacts, givenUnder: 1))
    }

    @Test("PYM-04 reasons rederive from the data in both languages", arguments: Backend.enabled)
    func reasonsRederive(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.person(1, name: "Vera")
            let mutuals = [
                try await app.person(2, name: "Amy"), try await app.person(3, name: "Ben"),
                try await app.person(4, name: "Cho"), try await app.person(5, name: "Dev"),
            ]
            let target = try await app.person(6, name: "Tess")
            for mutual in mutuals {
                try await app.connect(viewer, mutual)
                try await app.connect(mutual, target)
            }
            try await app.consentTo("personalised", viewer)
            let reasons = try await app.reasons(viewer, for: target)
            #expect(reasons.count == 1)
            let text = try #require(reasons.first?["text"])
            #expect(text.hasPrefix("4 mutual connections: ") && text.hasSuffix(" and 1 other"), "\(text)")
            let named = text.dropFirst("4 mutual connections: ".count).dropLast(" and 1 other".count)
                .components(separatedBy: ", ")
            #expect(named.count == 3 && Set(named).isSubset(of: ["Amy", "Ben", "Cho", "Dev"]))
            let zh = try await app.call(.get, "/v1/me/suggestions?locale=zh-CN", token: viewer.token)
            let zhText = ((zh.json["suggestions"] as? [[String: Any]])?.first?["reasons"] as? [[String: String]])?
                .first?["text"]
            #expect(zhText?.hasPrefix("4 位共同联系人：") == true && zhText?.hasSuffix(" 及另外 1 位") == true)
            // explainSuggestion answers with the same reasons.
            let explained = try await app.call(
                .get,
                "/v1/me/suggestions/\(target.id)/explanation?locale=en",
                token: viewer.token
            )
            #expect(explained.json["reasons"] as? [[String: String]] == reasons)
            let none = try await app.call(.get, "/v1/me/suggestions/\(mutuals[0].id)/explanation", token: viewer.token)
            #expect(none.status == .notFound, "a connection is not a suggestion")
        }
    }

    @Test("DSR-09 a dismissed person never returns and the opt-out is honoured", arguments: Backend.enabled)
    func dismissAndOptOut(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.person(
                1,
                name: "Vera",
                fields: ["school": "PKU", "visibility": ["school": "everyone"]]
            )
            let mutual = try await app.person(2, name: "Mo")
            let dismissed = try await app.person(3, name: "Dan")
            let shy = try await app.person(4, name: "Sy")
            try await app.connect(viewer, mutual)
            try await app.connect(mutual, dismissed)
            try await app.connect(mutual, shy)
            try await app.consentTo("personalised", viewer)
            #expect(Set(try await app.suggestions(viewer).ids) == [dismissed.id, shy.id])
            #expect(
                try await app.call(.post, "/v1/me/suggestions/\(dismissed.id)/dismissal", token: viewer.token).status
                    == .noContent
            )
            // New signals do not bring a dismissed person back: a shared school, a second mutual.
            _ = try await app.call(
                .patch,
                "/v1/me/profile",
                token: dismissed.token,
                json: ["school": "PKU", "visibility": ["school": "everyone"]]
            )
            let second = try await app.person(5, name: "Mia")
            try await app.connect(viewer, second)
            try await app.connect(second, dismissed)
            #expect(!(try await app.suggestions(viewer).ids.contains(dismissed.id)))
            #expect(
                try await app.call(.get, "/v1/me/suggestions/\(dismissed.id)/explanation", token: viewer.token).status
                    == .notFound
            )
            // Opting out of being suggested takes effect on the next request (DSR-09).
            #expect(
                try await app.setSuggestions(shy, ["suggestMeToOthers": false]).json["suggestMeToOthers"] as? Bool
                    == false
            )
            #expect(!(try await app.suggestions(viewer).ids.contains(shy.id)))
            // Connected people and pending requests are never suggested.
            _ = try await app.call(.post, "/v1/me/connection-requests", token: viewer.token, json: ["userId": shy.id])
            #expect(try await app.suggestions(viewer).ids.isEmpty)
        }
    }

    @Test("turning on two consents at once is refused; each needs its own text", arguments: Backend.enabled)
    func oneConsentAtATime(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let viewer = try await app.person(1)
            let reply = try await app.setSuggestions(viewer, ["personalised": true, "reverseContactSuggestions": true])
            #expect(reply.status == .unprocessableContent)
            let bare = try await app.setSuggestions(viewer, ["personalised": true])
            #expect(bare.status == .unprocessableContent)
            #expect(bare.json["field"] as? String == "noticeVersion")
        }
    }

    @Test("a second node sees a new connection after catching up from the change table", arguments: Backend.enabled)
    func replicaCatchUp(backend: Backend) async throws {
        try await withTestDatabaseURL(backend) { url in
            try await TestApp.run(backend, databaseURL: url) { nodeA in
                try await TestApp.run(backend, databaseURL: url) { nodeB in
                    let viewer = try await nodeA.person(1, name: "Vera")
                    let mutual = try await nodeA.person(2, name: "Mo")
                    let target = try await nodeA.person(3, name: "Tia")
                    try await nodeA.connect(viewer, mutual)
                    try await nodeA.connect(mutual, target)
                    try await nodeA.consentTo("personalised", viewer)
                    #expect(try await nodeA.suggestions(viewer).ids == [target.id])
                    let replica = nodeB.services.network.replica
                    try await replica.catchUp(
                        on: nodeB.services.store.database,
                        now: nodeB.services.store.clock.nowMillis
                    )
                    #expect(try await nodeB.suggestions(viewer).ids == [target.id])
                    // A removal on A reaches B too.
                    _ = try await nodeA.call(.delete, "/v1/me/connections/\(mutual.id)", token: target.token)
                    try await replica.catchUp(
                        on: nodeB.services.store.database,
                        now: nodeB.services.store.clock.nowMillis
                    )
                    #expect(try await nodeB.suggestions(viewer).ids.isEmpty)
                }
            }
        }
    }
}
