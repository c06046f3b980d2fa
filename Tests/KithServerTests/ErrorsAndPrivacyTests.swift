import Foundation
import HTTPTypes
import KithCore
import KithTestSupport
import Testing

@testable import KithServer
@testable import KithStore

@Suite("Problem documents and personal data kept out of logs")
struct ErrorsAndPrivacyTests {
    @Test("bad input gets a problem document naming the field, never a 500", arguments: Backend.enabled)
    func badInput(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000201")
            let cases: [(String, HTTPResponse.Status, String, String?)] = [
                ("{\"phone\"", .badRequest, "malformed-json", nil),
                ("[1,2]", .badRequest, "malformed-json", nil),
                ("{\"phone\":13800000000}", .unprocessableContent, "invalid-field", "phone"),
                ("{\"phone\":\"+8613800000201\",\"+8613800000299\":1}", .badRequest, "unknown-field", nil),
                ("{}", .unprocessableContent, "invalid-field", "phone"),
                ("{\"phone\":\"not a number\"}", .unprocessableContent, "invalid-field", "phone"),
                (
                    "{\"phone\":\"" + String(repeating: "1", count: 70_000) + "\"}", .contentTooLarge,
                    "payload-too-large", nil
                ),
            ]
            for (body, status, code, field) in cases {
                let reply = try await app.call(.post, "/v1/auth/verifications", token: token, raw: body)
                #expect(reply.status == status, "\(code)")
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect(reply.string("code") == code)
                #expect(reply.string("type") == "https://kith.example/problems/\(code)")
                #expect(reply.string("title") == status.reasonPhrase && !status.reasonPhrase.isEmpty)
                #expect(reply.string("field") == field)
                #expect(!reply.body.contains("13800000"), "a phone number was echoed")
            }
            let wrongType = try await app.call(
                .post,
                "/v1/me/consents",
                token: token,
                json: [
                    "purpose": "contact-discovery", "noticeVersion": "one", "locale": "en", "textSHA256": "x",
                    "initialState": "unchecked", "channel": "web",
                ]
            )
            #expect(wrongType.status == .unprocessableContent)
            #expect(wrongType.string("field") == "noticeVersion")
            // A key the client made up is never echoed, not even inside a field it belongs to.
            let madeUpKey = try await app.call(
                .patch,
                "/v1/me/profile",
                token: token,
                json: ["visibility": ["+8613800000277": "everyone"]]
            )
            #expect(madeUpKey.status == .unprocessableContent)
            #expect(madeUpKey.string("field") == "visibility")
            #expect(!madeUpKey.body.contains("13800000277"))
            let unauthenticated = try await app.call(.get, "/v1/me/consents", token: "not-a-token")
            #expect(unauthenticated.status == .unauthorized)
            let missing = try await app.call(.get, "/v1/nothing-here")
            #expect(missing.status == .notFound)
            #expect(missing.headers[.contentType] == "application/problem+json")
        }
    }

    @Test(
        "GEN-08 a body naming a field twice is refused, and no code is sent to either number",
        arguments: Backend.enabled
    )
    func duplicateKeys(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let sent = app.outboxMessages().count
            for body in [
                #"{"phone":"+8613800000202","phone":"+8613800000203"}"#,
                #"{"phone":"+8613800000202","ph\u006Fne":"+8613800000203"}"#,
            ] {
                let reply = try await app.call(.post, "/v1/auth/verifications", raw: body)
                #expect(reply.status == .badRequest)
                #expect(reply.string("code") == "malformed-json")
                #expect(reply.string("field") == "phone")
                #expect(!reply.body.contains("13800000"), "a phone number was echoed")
            }
            // Nested objects are checked too; a name the client made up is not echoed.
            let nested = try await app.call(
                .patch,
                "/v1/me/profile",
                token: try await app.signUp("+8613800000204").token,
                raw: #"{"visibility":{"+8613800000205":"everyone","+8613800000205":"connections"}}"#
            )
            #expect(nested.status == .badRequest)
            #expect(nested.string("field") == nil)
            #expect(!nested.body.contains("13800000205"))
            #expect(app.outboxMessages().count == sent + 1, "only the sign-up's own code was sent")
            // The same name in different objects, or as a value, is fine.
            #expect(JSONDuplicateKeys.first(in: Array(#"{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":"a"}"#.utf8)) == nil)
            #expect(JSONDuplicateKeys.first(in: Array(#"{"x":[{"a":1,"b":2,"a":3}]}"#.utf8))?.depth == 3)
            #expect(JSONDuplicateKeys.first(in: Array(#"{"\ud83d\ude00":1,"😀":2}"#.utf8))?.name == "😀")
        }
    }

    @Test("SEC-01 no phone number code or token in logs", arguments: Backend.enabled)
    func nothingPersonalInLogs(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let phone = "+8613812345679"
            let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "138 1234 5679"])
            let code = try #require(app.lastCode(to: phone))
            _ = try await app.call(
                .post,
                "/v1/auth/sessions",
                json: ["verificationId": started.string("verificationId")!, "code": "000000"]
            )
            let verified = try await app.call(
                .post,
                "/v1/auth/sessions",
                json: ["verificationId": started.string("verificationId")!, "code": code]
            )
            let token = try #require(verified.string("token"))
            try await app.grant(.contactDiscovery, token: token)
            _ = try await app.call(.get, "/v1/me", token: token)
            _ = try await app.call(.post, "/v1/auth/verifications", raw: "{\"phone\":\"13812345679\",\"x\":1}")
            _ = try await app.call(.delete, "/v1/auth/sessions/current", token: token)
            let lines = app.logs.all
            #expect(lines.count >= 6, "the test must actually capture the request logs")
            for needle in [phone, "13812345679", "138 1234 5679", code, token, String(token.prefix(12))] {
                #expect(app.logs.lines(containing: needle).isEmpty, "found personal data in logs")
            }
            // Metrics labels carry route templates only.
            let metrics = try await app.call(.get, "/metrics")
            #expect(metrics.body.contains("kith_http_requests_total"))
            #expect(!metrics.body.contains("13812345679"))
        }
    }

    @Test("health reports the store")
    func health() async throws {
        try await TestApp.run(.sqlite) { app in
            let reply = try await app.call(.get, "/health")
            #expect(reply.status == .ok)
            #expect(reply.string("store") == "sqlite")
        }
    }
}

@Suite("Contract bounds beyond types")
struct ContractBoundsTests {
    @Test("lengths, ranges and nulls the contract forbids are refused with the field named")
    func bounds() async throws {
        try await TestApp.run(.sqlite) { app in
            let (token, _) = try await app.signUp("+8613800000401")
            let padded = try await app.call(
                .post,
                "/v1/auth/verifications",
                json: ["phone": "+8613900139079" + String(repeating: " ", count: 60)]
            )
            #expect(padded.status == .unprocessableContent)
            #expect(padded.string("field") == "phone")
            let long = try await app.call(
                .put,
                "/v1/me/discoverability",
                token: token,
                json: ["discoverable": false, "textSHA256": String(repeating: "0", count: 65)]
            )
            #expect(long.string("field") == "textSHA256")
            let huge = try await app.call(
                .post,
                "/v1/me/consents",
                token: token,
                raw:
                    "{\"purpose\":\"contact-discovery\",\"noticeVersion\":44728448221116538880,\"locale\":\"en\",\"textSHA256\":\"x\",\"initialState\":\"unchecked\",\"channel\":\"web\"}"
            )
            #expect(huge.status == .unprocessableContent)
            #expect(huge.string("field") == "noticeVersion")
            let null = try await app.call(
                .put,
                "/v1/me/discoverability",
                token: token,
                raw: "{\"discoverable\":false,\"channel\":null}"
            )
            #expect(null.status == .unprocessableContent)
            #expect(null.string("field") == "channel")
            let method = try await app.call(.patch, "/v1/me", token: token)
            #expect(method.status == .methodNotAllowed)
            #expect(method.headers[.allow] == "GET")
            #expect(try await app.call(.get, "/health", token: "stale-token").status == .ok)
        }
    }
}
