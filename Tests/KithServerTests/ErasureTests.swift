import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

extension TestApp {
    /// Deletes `person`'s account through the API as they would: a code to their own number, then the
    /// deletion with it. - Returns: the deletion ID.
    func deleteAccount(_ person: Person, expect status: HTTPResponse.Status = .ok) async throws -> String {
        let started = try await call(.post, "/v1/me/deletion/verifications", token: person.token)
        #expect(started.status == .accepted, "\(started.body)")
        let id = try #require(started.string("verificationId"))
        let code = try #require(lastCode(to: person.phone))
        let deleted = try await call(
            .post,
            "/v1/me/deletion",
            token: person.token,
            json: ["verificationId": id, "code": code]
        )
        #expect(deleted.status == status, "\(deleted.body)")
        return try #require(deleted.string("deletionId"))
    }

    /// Every form of `person` the erasure scan looks for, the pseudonym read now.
    func erasureForms(of person: Person) async throws -> [ErasureScan.Form] {
        let pseudonym = try await LogCoverageTests.pseudonym(of: person.id, self)
        return ErasureScan(store: services.store).forms(
            of: UserID(rawValue: person.id),
            phone: try PhoneNumber.parse(person.phone).get(),
            pseudonym: pseudonym
        )
    }
}

@Suite("Account deletion and erasure (DSR-04, ACC-10, ACC-12)")
struct ErasureTests {
    @Test(
        "DSR-04 ACC-10 deleting an account erases the person from every table and holder; the log still verifies",
        arguments: Backend.enabled
    )
    func deletionErasesEverywhere(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(
                1,
                name: "Ann Erased",
                fields: ["employer": "Kith Labs", "city": "Hangzhou"]
            )
            let bob = try await app.person(2, name: "Bob")
            let cat = try await app.person(3, name: "Cat")
            let dan = try await app.person(4, name: "Dan")
            // Ann's traces in every capability: consents, uploads both ways, connections, requests,
            // endorsements both ways, a block, a dismissal, suggestions shown, reads, a registration lock.
            try await DiscoveryTests.makeDiscoverable(app, token: ann.token)
            try await DiscoveryTests.makeDiscoverable(app, token: bob.token)
            for person in [ann, bob] { _ = try await app.grant(.contactDiscovery, token: person.token) }
            let annFound = try await DiscoveryTests.upload(app, token: bob.token, [ann.phone])
            #expect(DiscoveryTests.matchedUsers(annFound) == [ann.id])
            _ = try await DiscoveryTests.upload(app, token: ann.token, [bob.phone, "+8613912345678"])
            try await app.connect(ann, bob)
            try await app.connect(cat, ann)
            try await app.connect(bob, dan)
            let eve = try await app.person(5, name: "Eve")
            _ = try await app.call(.post, "/v1/me/connection-requests", token: ann.token, json: ["userId": eve.id])
            for (from, to) in [(ann, bob), (bob, ann)] {
                let given = try await app.call(
                    .post,
                    "/v1/users/\(to.id)/endorsements",
                    token: from.token,
                    json: ["preset": "reliable"]
                )
                #expect(given.status == .created, "\(given.body)")
            }
            try await app.consentTo("personalised", ann)
            try await app.consentTo("personalised", dan)
            _ = try await app.suggestions(ann)
            #expect(try await app.suggestions(dan).ids.contains(ann.id), "Ann is suggested to Dan before")
            _ = try await app.call(.post, "/v1/me/suggestions/\(dan.id)/dismissal", token: cat.token)
            _ = try await app.call(.post, "/v1/me/blocks", token: cat.token, json: ["userId": dan.id])
            _ = try await app.call(.put, "/v1/me/registration-lock", token: ann.token, json: ["pin": "20261202"])
            _ = try await app.call(.get, "/v1/users/\(ann.id)/profile", token: dan.token)
            try await app.services.reads?.synchronise()

            let forms = try await app.erasureForms(of: ann)
            let scan = ErasureScan(store: app.services.store)
            #expect(try await scan.scan(for: forms).contains { !$0.kept && $0.table == "contact_edges" })

            let deletion = try await app.deleteAccount(ann)
            try await app.services.reads?.synchronise()

            // Nothing of Ann is left in any table but her entries' pseudonym, whose key is destroyed.
            let hits = try await scan.scan(for: forms)
            #expect(hits.filter { !$0.kept } == [], "\(hits)")
            #expect(hits.allSatisfy { $0.table == "processing_log" && $0.form == "pseudonym" }, "\(hits)")
            #expect(try await LogCoverageTests.pseudonym(of: ann.id, app) == "erased")
            let verified = try await ProcessingLog.verify(
                on: app.services.store.database,
                publicKey: app.services.store.log.publicKey
            )
            #expect(verified.isIntact, "\(verified)")

            // Nor in this node's memory.
            let user = UserID(rawValue: ann.id)
            #expect(app.services.network.replica.existingNode(for: user) == nil)
            let prefix = try #require(
                PhonePrefixIndex.prefix(hex: forms.first { $0.name == "number (blind index)" }!.value)
            )
            #expect(!app.services.discovery.index.contains(prefix))

            // Nor in any answer: her token, the others' lists, suggestions, second degree, uploads.
            #expect(try await app.call(.get, "/v1/me", token: ann.token).status == .unauthorized)
            #expect(!(try await app.suggestions(dan).ids.contains(ann.id)))
            let second = try await app.call(.get, "/v1/me/network/second-degree", token: dan.token)
            #expect(!second.body.contains(ann.id))
            let bobs = try await app.call(.get, "/v1/users/\(bob.id)/connections", token: bob.token)
            #expect(!bobs.body.contains(ann.id) && bobs.status == .ok)
            #expect(try await app.call(.get, "/v1/users/\(ann.id)/profile", token: bob.token).status == .notFound)
            let again = try await DiscoveryTests.upload(app, token: bob.token, [ann.phone])
            #expect(DiscoveryTests.matchedUsers(again) == [])

            // The status names only times and counts, and the log says what happened with counts only.
            let status = try await app.call(.get, "/v1/account-deletions/\(deletion)")
            #expect(status.status == .ok && status.string("status") == "erased")
            let erased = try #require(status.json["erasedRows"] as? [String: Int])
            #expect(erased["users"] == 1 && erased["connections"] == 4 && erased["contact_edges"] == 2)
            #expect(!status.body.contains(ann.id) && !status.body.contains(String(ann.phone.dropFirst())))
            // The receipt of the scan right after the erasure: clean, signed with the log's key.
            let receipt = try #require(try await app.services.erasure.status(deletion)?.receipt)
            #expect(receipt.clean && receipt.isSigned(by: app.services.store.log.publicKeyBase64))
            #expect(
                Set(receipt.holders).isSuperset(of: ["GraphReplica", "DiscoveryIndex", "ReadThrottle", "SessionCache"])
            )
            #expect(receipt.forms.count == 8 && receipt.tables.contains("contact_edges"))
            var forged = receipt
            forged.clean = false
            #expect(!forged.isSigned(by: app.services.store.log.publicKeyBase64))
            #expect((status.json["receipt"] as? [String: Any])?["clean"] as? Bool == true)
            let entry = try #require(
                try await loggedEntries(app.services.store).last { $0.detail.hasPrefix("account erased") }
            )
            #expect(entry.subject == nil && entry.evidence == ["deletion": deletion])

            // The reads of her ID just now (her profile, by Bob) are counted, but her ID is stored nowhere.
            try await app.services.reads?.synchronise()
            let afterReads = try await scan.scan(for: forms)
            #expect(afterReads.filter { !$0.kept } == [], "\(afterReads)")

            // The number is free: signing up with it opens a new, empty account.
            let back = try await app.signUp(ann.phone)
            #expect(back.user != ann.id)
        }
    }

    @Test(
        "ACC-10 DSR-04 a grace period deactivates at once and erases after its working days, weekends not counted",
        arguments: Backend.enabled
    )
    func gracePeriod(backend: Backend) async throws {
        // 2027-01-15 is a Friday: three working days later is Wednesday the 20th.
        let clock = ManualClock(millis: 1_800_000_000_000 + 0)
        let friday = Int64(1_800_000_000_000)
        let policy = DeletionPolicy(graceWorkingDays: 3)
        #expect(policy.eraseAfter(requestedAt: friday) == friday + 5 * 86_400_000)
        try await TestApp.run(backend, clock: .manual(clock), deletion: policy) { app in
            let ann = try await app.person(1, name: "Ann")
            let bob = try await app.person(2, name: "Bob")
            try await app.connect(ann, bob)
            let deletion = try await app.deleteAccount(ann, expect: .accepted)
            let scheduled = try await app.call(.get, "/v1/account-deletions/\(deletion)")
            #expect(scheduled.string("status") == "scheduled")
            #expect(scheduled.json["eraseAfter"] as? Int64 == policy.eraseAfter(requestedAt: clock.millis))
            // Deactivated: no session, no sign-in to it, suggested to no one.
            #expect(try await app.call(.get, "/v1/me", token: ann.token).status == .unauthorized)
            let erasure = app.services.erasure
            #expect(try await erasure.eraseDue() == 0)
            clock.advance(seconds: 4 * 86_400)
            #expect(try await erasure.eraseDue() == 0)
            clock.advance(seconds: 86_400)
            #expect(try await erasure.eraseDue() == 1)
            let erased = try await app.call(.get, "/v1/account-deletions/\(deletion)")
            #expect(erased.string("status") == "erased")
            let bobs = try await app.call(.get, "/v1/users/\(bob.id)/connections", token: bob.token)
            #expect(!bobs.body.contains(ann.id))
        }
    }

    @Test(
        "ACC-12 DSR-04 a frozen account of a recycled number is erased after its retention",
        arguments: Backend.enabled
    )
    func frozenAccountsAreErased(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let old = try await app.person(1, name: "Old Holder")
            clock.advance(seconds: 300 * 86_400)
            let new = try await app.signUp(old.phone)
            #expect(new.user != old.id)
            let forms = try await app.erasureForms(of: old).filter { $0.name == "user ID" }
            let scan = ErasureScan(store: app.services.store)
            clock.advance(seconds: 29 * 86_400)
            #expect(try await app.services.erasure.eraseDue() == 0)
            clock.advance(seconds: 2 * 86_400)
            #expect(try await app.services.erasure.eraseDue() == 1)
            #expect(try await scan.scan(for: forms).filter { !$0.kept } == [])
            // What is keyed by the number is the new holder's now, and stays: their code counters, their account.
            let sends = try await app.services.store.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM code_sends").first()?.decode(column: "n", as: Int.self)
            }
            #expect((sends ?? 0) > 0, "the old account's erasure reset the new holder's code limits")
            let receipt = try #require(
                try await loggedEntries(app.services.store).last { $0.detail.hasPrefix("account erased") }
            )
            #expect(receipt.subject == nil)
            #expect(try await app.signUp(old.phone).user == new.user)
        }
    }

    @Test(
        "DSR-04 another node sharing the store forgets an erased person in every in-memory holder",
        arguments: Backend.enabled
    )
    func otherNodesForget(backend: Backend) async throws {
        try await withTestDatabaseURL(backend) { url in
            try await TestApp.run(backend, databaseURL: url) { nodeA in
                let ann = try await nodeA.person(1, name: "Ann")
                let bob = try await nodeA.person(2, name: "Bob")
                try await nodeA.connect(ann, bob)
                try await DiscoveryTests.makeDiscoverable(nodeA, token: ann.token)
                try await TestApp.run(backend, databaseURL: url) { nodeB in
                    let user = UserID(rawValue: ann.id)
                    let forms = try await nodeB.erasureForms(of: ann)
                    let index = try #require(forms.first { $0.name == "number (blind index)" }?.value)
                    let prefix = try #require(PhonePrefixIndex.prefix(hex: index))
                    try await SessionRevocationFeed(store: nodeB.services.store, logger: nodeB.logs.logger()).refresh()
                    #expect(try await nodeB.call(.get, "/v1/me", token: ann.token).status == .ok)
                    #expect(nodeB.services.network.replica.existingNode(for: user) != nil)
                    #expect(nodeB.services.discovery.index.contains(prefix))

                    _ = try await nodeA.deleteAccount(ann)
                    let feed = ErasureNoticeFeed(erasure: nodeB.services.erasure, logger: nodeB.logs.logger())
                    #expect(try await feed.catchUp() == 1)
                    #expect(nodeB.services.network.replica.existingNode(for: user) == nil)
                    #expect(nodeB.services.network.replica.connections(of: UserID(rawValue: bob.id)) == [])
                    #expect(!nodeB.services.discovery.index.contains(prefix))
                    #expect(try await nodeB.call(.get, "/v1/me", token: ann.token).status == .unauthorized)
                    // Reading again forgets nothing more and breaks nothing. The notice is read again only while
                    // it is inside the feed's overlap (10 s after the last read), which a slow erasure can outlast.
                    #expect(try await feed.catchUp() <= 1)
                    #expect(nodeB.services.network.replica.existingNode(for: user) == nil)
                    #expect(try await nodeB.call(.get, "/v1/me", token: bob.token).status == .ok)
                }
            }
        }
    }

    @Test(
        "DSR-04 verifyErasure finds nothing of an erased person, in the SQLite file's bytes too, and finds a person who is not",
        arguments: Backend.enabled
    )
    func verifyErasure(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann")
            let bob = try await app.person(2, name: "Bob")
            try await app.connect(ann, bob)
            _ = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["preset": "mentor"]
            )
            _ = try await app.deleteAccount(ann)
            let erasure = app.services.erasure
            let initiation = Initiation(kind: .operatorCommand, action: "test")
            let phone = try PhoneNumber.parse(ann.phone).get()
            let gone = try await erasure.verify(
                UserID(rawValue: ann.id),
                phone: phone,
                by: "dpo",
                initiation: initiation
            )
            #expect(gone.clean, "\(gone.hits)")
            if backend == .sqlite { #expect(gone.files == ["SQLite file", "SQLite WAL"]) }
            let here = try await erasure.verify(
                UserID(rawValue: bob.id),
                phone: try PhoneNumber.parse(bob.phone).get(),
                by: "dpo",
                initiation: initiation
            )
            #expect(!here.clean && here.hits.contains { $0.table == "users" && $0.form == "user ID" })
            if backend == .sqlite { #expect(here.hits.contains { $0.table == "SQLite file" && $0.form == "user ID" }) }
            #expect(here.hits.contains { $0.table == "GraphReplica" })
            let logged = try await loggedEntries(app.services.store).suffix(2).map(\.detail)
            #expect(
                logged == [
                    "erasure verified by an operator: nothing found",
                    "erasure verified by an operator: found in \(here.hits.filter { !$0.kept }.count) places",
                ]
            )
        }
    }

    @Test("DSR-04 a deletion code works for its own account only and once", arguments: Backend.enabled)
    func codesAreTheirOwn(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            let started = try await app.call(.post, "/v1/me/deletion/verifications", token: ann.token)
            let id = try #require(started.string("verificationId"))
            let code = try #require(app.lastCode(to: ann.phone))
            #expect(app.outboxMessages().last?["body"]?.contains("delete your account") == true)
            let stolen = try await app.call(
                .post,
                "/v1/me/deletion",
                token: bob.token,
                json: ["verificationId": id, "code": code]
            )
            #expect(stolen.status == .unprocessableContent || stolen.status == .badRequest, "\(stolen.body)")
            #expect(try await app.call(.get, "/v1/me", token: bob.token).status == .ok)
            #expect(try await app.call(.get, "/v1/me", token: ann.token).status == .ok)
            let wrong = try await app.call(
                .post,
                "/v1/me/deletion",
                token: ann.token,
                json: ["verificationId": id, "code": code == "000000" ? "111111" : "000000"]
            )
            #expect(wrong.status != .ok)
            #expect(try await app.call(.get, "/v1/me", token: ann.token).status == .ok)
            #expect(try await app.call(.get, "/v1/account-deletions/del_nope").status == .notFound)
        }
    }
}
