import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

/// The acceptance scenario of issue 14 at full size, through the public API only: a heavy user with a
/// profile, consents, 5,000 contact edges, 1,000 connections, endorsements both ways, suggestions shown and
/// an invitation exports everything, deletes the account, and leaves nothing any store, scan or later answer can find.
@Suite("Data rights of a heavy user (DSR-01, DSR-04, ACC-10)")
struct HeavyUserRightsTests {
    /// People around the heavy user: each is discoverable and has the heavy user's number in an upload.
    static let crowd = 2_500
    static let connections = 1_000
    static let endorsements = 50
    /// The upload quota's burst (CON-07): the rest of the heavy user's address book goes in days later.
    static let firstUpload = 2_000

    /// Runs `body` over `items` with at most `width` at a time, as many app clients would.
    static func concurrently<T: Sendable, R: Sendable>(
        _ items: [T],
        width: Int = 8,
        _ body: @escaping @Sendable (T) async throws -> R
    ) async throws -> [R] {
        try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var results = [R?](repeating: nil, count: items.count)
            var next = 0
            func add() {
                let position = next
                let item = items[position]
                group.addTask { (position, try await body(item)) }
                next += 1
            }
            while next < min(width, items.count) { add() }
            while let (position, result) = try await group.next() {
                results[position] = result
                if next < items.count { add() }
            }
            return results.map { $0! }
        }
    }

    @Test(
        "DSR-01 DSR-04 ACC-10 a heavy user (5,000 contact edges, 1,000 connections) exports everything, then is erased from every store and answer",
        arguments: Backend.enabled
    )
    func heavyUserExportsAndIsErased(backend: Backend) async throws {
        let clock = ManualClock()
        // Thousands of people sign in and upload from what the router sees as one client address; the limits
        // per address are raised as if each had their own. Every limit per person stays.
        var perAddress = RateLimitPolicy()
        perAddress.verifyPerAddress = RateLimit(burst: 1e9, perSecond: 0)
        perAddress.discoveryUploadsPerAddress = RateLimit(burst: 1e9, perSecond: 0)
        try await TestApp.run(backend, clock: .manual(clock), rateLimits: perAddress) { app in
            let catalogue = app.services.store.catalogue
            let discoverable = try #require(catalogue.purpose(.discoverableByPhone))
            let heavy = try await app.person(
                0,
                name: "Heavy User",
                fields: ["employer": "Kith Labs", "school": "Zhejiang University", "city": "杭州"]
            )
            try await DiscoveryTests.makeDiscoverable(app, token: heavy.token)
            _ = try await app.grant(.contactDiscovery, token: heavy.token)
            try await app.consentTo("personalised", heavy)

            // The crowd signs up, becomes discoverable and uploads the heavy user's number: 2,500 edges to them.
            let crowd = try await Self.concurrently(Array(0..<Self.crowd)) { i in
                let phone = "+86139\(String(format: "%08d", 50_000_000 + i))"
                let (token, id) = try await app.signUp(phone)
                let made = try await app.call(
                    .put,
                    "/v1/me/discoverability",
                    token: token,
                    json: [
                        "discoverable": true, "noticeVersion": catalogue.current.version, "locale": "zh-CN",
                        "textSHA256": discoverable.consentText(.zhCN).sha256Hex, "initialState": "unchecked",
                        "channel": "android",
                    ]
                )
                #expect(made.status == .ok, "\(made.body)")
                #expect(try await app.grant(.contactDiscovery, token: token).status == .created)
                let found = try await DiscoveryTests.upload(app, token: token, [heavy.phone])
                #expect(DiscoveryTests.matchedUsers(found) == [heavy.id], "\(found.body)")
                return TestApp.Person(token: token, id: id, phone: phone)
            }
            // The heavy user's address book holds all of them: 2,000 now (the burst), 500 five days later.
            let first = try await DiscoveryTests.upload(
                app,
                token: heavy.token,
                crowd.prefix(Self.firstUpload).map(\.phone)
            )
            #expect(DiscoveryTests.matchedUsers(first).count == Self.firstUpload, "\(first.status)")
            clock.advance(seconds: 5 * 86_400)
            let rest = try await DiscoveryTests.upload(
                app,
                token: heavy.token,
                crowd.dropFirst(Self.firstUpload).map(\.phone),
                previous: crowd.prefix(Self.firstUpload).map(\.phone),
                recheck: first.string("recheckToken")
            )
            #expect(DiscoveryTests.matchedUsers(rest).count == Self.crowd, "\(rest.status)")

            // 1,000 connections, each asked by the other and accepted; endorsements both ways.
            let friends = Array(crowd.prefix(Self.connections))
            _ = try await Self.concurrently(friends) { friend in try await app.connect(friend, heavy) }
            _ = try await Self.concurrently(Array(friends.prefix(Self.endorsements))) { friend in
                for (from, to) in [(heavy, friend), (friend, heavy)] {
                    let given = try await app.call(
                        .post,
                        "/v1/users/\(to.id)/endorsements",
                        token: from.token,
                        json: ["preset": "reliable"]
                    )
                    #expect(given.status == .created, "\(given.body)")
                }
            }
            // Friends of friends: the heavy user is shown suggestions, and is suggested to a viewer.
            let viewer = crowd[Self.connections]
            for i in 0..<10 { try await app.connect(friends[i], crowd[Self.connections + i]) }
            try await app.consentTo("personalised", viewer)
            #expect(!(try await app.suggestions(heavy).ids.isEmpty))
            #expect(try await app.suggestions(viewer).ids.contains(heavy.id))
            let secondBefore = try await app.call(.get, "/v1/me/network/second-degree", token: viewer.token)
            #expect(secondBefore.body.contains(heavy.id))
            // An invitation of a friend who does not use Kith yet.
            #expect(try await app.invite(heavy, "+8613900099999").sent?.status == .created)

            // The export holds it all, and verifies offline.
            let (document, statement) = try await app.export(heavy)
            let edges = document.tables["contact_edges"] ?? []
            #expect(edges.count == Self.crowd && edges.allSatisfy { $0["owner_id"] == .text(heavy.id) })
            #expect(document.facts.contains { $0.table == "contact_edges" && $0.count == Self.crowd })
            let peers = Set(
                (document.tables["connections"] ?? []).compactMap { row -> String? in
                    guard case .text(let user) = row["user_id"], case .text(let peer) = row["peer_id"] else {
                        return nil
                    }
                    return user == heavy.id ? peer : user
                }
            )
            #expect(peers.count == Self.connections)
            #expect(document.tables["endorsements"]?.count == 2 * Self.endorsements)
            #expect(document.tables["invitations"]?.count == 1)
            #expect(document.tables["profiles"]?.first?["employer"] == .text("Kith Labs"))
            #expect((document.tables["consents"]?.count ?? 0) >= 3)
            #expect(document.log.entries.count > Self.crowd + Self.connections)
            #expect(ExportArchive.verify(document, publicKey: app.services.store.log.publicKeyBase64) == [])
            #expect(statement.contains("\(Self.crowd) people who use Kith have your number"))

            // Deleted, and found nowhere: every table, the SQLite file and WAL, every holder of this node.
            let forms = try await app.erasureForms(of: heavy)
            _ = try await app.deleteAccount(heavy)
            try await app.services.reads?.synchronise()
            let hits = try await ErasureScan(store: app.services.store).scan(for: forms)
            #expect(hits.filter { !$0.kept } == [], "\(hits.filter { !$0.kept }.prefix(10))")
            let receipt = try await app.services.erasure.verify(
                UserID(rawValue: heavy.id),
                phone: try PhoneNumber.parse(heavy.phone).get(),
                by: "dpo",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            #expect(receipt.clean, "\(receipt.hits.prefix(10))")
            let verified = try await ProcessingLog.verify(
                on: app.services.store.database,
                publicKey: app.services.store.log.publicKey
            )
            #expect(verified.isIntact, "\(verified)")

            // No later answer surfaces the person.
            #expect(!(try await app.suggestions(viewer).ids.contains(heavy.id)))
            let secondAfter = try await app.call(.get, "/v1/me/network/second-degree", token: viewer.token)
            #expect(secondAfter.status == .ok && !secondAfter.body.contains(heavy.id))
            let friendsList = try await app.call(
                .get,
                "/v1/users/\(friends[0].id)/connections",
                token: friends[0].token
            )
            #expect(friendsList.status == .ok && !friendsList.body.contains(heavy.id))
            let again = try await DiscoveryTests.upload(app, token: crowd.last!.token, [heavy.phone])
            #expect(again.status == .ok && DiscoveryTests.matchedUsers(again) == [])
            #expect(try await app.call(.get, "/v1/users/\(heavy.id)/profile", token: viewer.token).status == .notFound)
            #expect(try await app.call(.get, "/v1/me", token: heavy.token).status == .unauthorized)
        }
    }
}
