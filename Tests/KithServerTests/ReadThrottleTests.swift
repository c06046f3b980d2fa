import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

/// Issue 15 §4 (Weibo v. Maimai): logged-in reading of people's data is limited per person, and whoever
/// reads more different people in an hour than anyone browsing does is stopped.
@Suite("Read throttle and bulk-read detector (GEN-05)")
struct ReadThrottleTests {
    static func people(_ app: TestApp, _ count: Int, from first: Int) async throws -> [(token: String, user: String)] {
        var people: [(token: String, user: String)] = []
        for i in 0..<count { people.append(try await app.signUp("+86138000009\(String(format: "%02d", first + i))")) }
        return people
    }

    @Test(
        "GEN-05 reads of people's data share one bucket per person and are refused with the same 429",
        arguments: Backend.enabled
    )
    func bucket(backend: Backend) async throws {
        var policy = ReadThrottlePolicy()
        policy.perUser = .perHour(36, burst: 5)
        // The store's clock stands still: a slow machine refills no token between the reads.
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock), reads: policy) { app in
            let people = try await Self.people(app, 3, from: 0)
            let (reader, other) = (people[0], people[1])
            for _ in 0..<3 {
                #expect(try await app.call(.get, "/v1/users/\(other.user)/profile", token: reader.token).status == .ok)
            }
            #expect(try await app.call(.get, "/v1/users/\(reader.user)/connections", token: reader.token).status == .ok)
            #expect(try await app.call(.get, "/v1/me/suggestions", token: reader.token).status == .ok)
            for path in ["/v1/me/suggestions", "/v1/me/network/second-degree", "/v1/users/\(other.user)/profile"] {
                let refused = try await app.call(.get, path, token: reader.token)
                #expect(refused.status == .tooManyRequests, "\(path)")
                #expect(refused.headers[.retryAfter] == "100", "\(path)")  // one token at 36 an hour
                #expect(
                    refused.json["code"] as? String == "rate-limited"
                        && refused.json["detail"] as? String == "Too many requests; try again later."
                )
            }
            // Another person's bucket is their own.
            #expect(try await app.call(.get, "/v1/users/\(reader.user)/profile", token: other.token).status == .ok)
            // Three refusals within a minute: one security event about the reader, naming the limit only.
            let events = try await loggedEntries(app.services.store).filter {
                $0.detail == "refused by the reads limit"
            }
            #expect(events.count == 1)
            let pseudonym = try await LogCoverageTests.pseudonym(of: reader.user, app)
            #expect(events.first?.subject == pseudonym && events.first?.purpose == .abusePrevention)
            #expect(try await app.call(.get, "/metrics").body.contains("kith_limits_refused_total{limit=\"reads\"} 3"))
        }
    }

    @Test(
        "GEN-05 reading more different people in an hour than the threshold stops a person's reads, with a security event and a metric",
        arguments: Backend.enabled
    )
    func bulkReading(backend: Backend) async throws {
        let clock = ManualClock()
        var policy = ReadThrottlePolicy()
        policy.distinctPeoplePerHour = 3
        try await TestApp.run(backend, clock: .manual(clock), reads: policy) { app in
            let people = try await Self.people(app, 5, from: 10)
            let reader = people[0]
            for person in people[1...3] {
                for _ in 0..<4 {  // reading one person again and again is still one person
                    #expect(
                        try await app.call(.get, "/v1/users/\(person.user)/profile", token: reader.token).status == .ok
                    )
                }
            }
            let fourth = try await app.call(.get, "/v1/users/\(people[4].user)/connections", token: reader.token)
            #expect(fourth.status == .tooManyRequests && fourth.headers[.retryAfter] == "3600")
            // Stopped for every read now, of anyone, the reader's own lists included.
            clock.advance(seconds: 600)
            let after = try await app.call(.get, "/v1/me/suggestions", token: reader.token)
            #expect(after.status == .tooManyRequests && after.headers[.retryAfter] == "3000")
            #expect(
                try await app.call(.get, "/v1/users/\(people[1].user)/profile", token: people[2].token).status == .ok
            )

            let event = try #require(
                try await loggedEntries(app.services.store).last { $0.detail.hasPrefix("bulk reading") }
            )
            #expect(event.subject == (try await LogCoverageTests.pseudonym(of: reader.user, app)))
            #expect(event.purpose == .securityLog)
            #expect(event.detail == "bulk reading stopped: more than 3 people read within an hour")
            try await #require(app.services.reads).synchronise()
            let metrics = try await app.call(.get, "/metrics").body
            #expect(metrics.contains("kith_limits_tripped_total{guard=\"bulk-reading\"} 1"))
            #expect(metrics.contains("kith_reads_blocked_readers 1"))
            // Whom the reader read is kept as user IDs of the hour, for this count only.
            let rows = try await app.services.store.database.read { sql in
                try await sql.raw("SELECT subject_id FROM read_subjects WHERE reader_id = \(bind: reader.user)").all()
            }
            #expect(rows.count == 4)

            clock.advance(seconds: 3001)
            #expect(try await app.call(.get, "/v1/me/suggestions", token: reader.token).status == .ok)
        }
    }
}
