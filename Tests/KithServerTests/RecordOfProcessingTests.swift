import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("The served record of processing activities and the inventory (ACC-01, SEC-07, CON-00)")
struct RecordOfProcessingTests {
    @Test("ACC-01 SEC-07 the served notice and record list the inventory's categories, client IP addresses included")
    func servedRecordDerivesFromInventory() async throws {
        try await TestApp.run(.sqlite) { app in
            let record = try await app.call(.get, "/v1/privacy/purposes")
            #expect(record.status == .ok)
            let purposes = try #require(record.json["purposes"] as? [[String: Any]])
            for purpose in purposes {
                let id = PurposeID(rawValue: try #require(purpose["id"] as? String))
                let categories = try #require(purpose["dataCategories"] as? [String])
                #expect(categories == DataInventory.kith.categories(for: id).map(\.rawValue), "\(id.rawValue)")
            }
            let abuse = try #require(purposes.first { $0["id"] as? String == "abuse-prevention" })
            #expect((abuse["dataCategories"] as? [String])?.contains("client-ip-keyed-hash") == true)
            let notice = try await app.call(.get, "/v1/privacy/notice?locale=en")
            let text = try #require(notice.string("text"))
            #expect(text.contains("client-ip-keyed-hash") && text.contains("IP address"))
        }
    }

    @Test(
        "CON-00 SEC-07 every rate-limit key the server writes matches a key pattern of the inventory",
        arguments: Backend.enabled
    )
    func rateLimitKeysDeclared(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (ann, annID) = try await app.signUp("+8613800000451")
            let (_, bobID) = try await app.signUp("+8613800000452")
            try await app.grant(.contactDiscovery, token: ann)
            let upload = try await app.call(
                .post,
                "/v1/me/contacts/matches",
                token: ann,
                json: ["numbers": ["+8613800000452", "+8613800000453"]]
            )
            #expect(upload.status == .ok)
            let asked = try await app.call(.post, "/v1/me/connection-requests", token: ann, json: ["userId": bobID])
            #expect(asked.status == .created)
            let keys = try await app.services.store.database.read { sql in
                try await sql.raw("SELECT bucket FROM rate_buckets").all().map {
                    try $0.decode(column: "bucket", as: String.self)
                }
            }
            let patterns = try #require(DataInventory.kith.table("rate_buckets")?.column("bucket")?.keyPatterns)
            let used = Set(keys.compactMap { key in patterns.first { key.hasPrefix($0.prefix) }?.prefix })
            #expect(keys.allSatisfy { key in patterns.contains { key.hasPrefix($0.prefix) } }, "\(keys.count) keys")
            #expect(used.isSuperset(of: ["otp-ip:", "otp-network:", "verify-ip:", "discovery-ip:", "discovery:"]))
            #expect(used.contains("connection-requests:"))
            #expect(keys.contains("discovery:" + annID))
            // No key carries a number or an address as itself.
            #expect(!keys.contains { $0.contains("8613800000") || $0.contains("127.0.0.1") })
        }
    }
}
