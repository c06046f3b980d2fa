import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("Phone accounts through the API (ACC-04, ACC-05, ACC-12)")
struct AccountFlowTests {
    @Test("ACC-04 registered and unregistered numbers get identical answers", arguments: Backend.enabled)
    func noEnumeration(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            _ = try await app.signUp("+8613800000001")
            let registered = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000001"])
            let unregistered = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000002"])
            #expect(registered.status == unregistered.status)
            #expect(Set(registered.json.keys) == Set(unregistered.json.keys))
            #expect(registered.json["expiresIn"] as? Int == unregistered.json["expiresIn"] as? Int)
            #expect(registered.string("status") == unregistered.string("status"))
            let headerNames = { (reply: TestApp.Reply) in Set(reply.headers.map(\.name.canonicalName)) }
            #expect(headerNames(registered) == headerNames(unregistered))
            #expect(registered.headers[.contentLength] == unregistered.headers[.contentLength])
        }
    }

    @Test("sign-up needs only the phone number and a code (ACC-04)", arguments: Backend.enabled)
    func phoneOnly(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, user) = try await app.signUp("138 0000 0003")
            let me = try await app.call(.get, "/v1/me", token: token)
            #expect(me.status == .ok)
            #expect(me.string("userId") == user)
            #expect(me.string("phone") == "+8613800000003")
            let messages = app.outboxMessages()
            #expect(messages.count == 1)
            #expect(messages[0]["kind"] == "verification")
            #expect(messages[0]["evidence"]?.hasPrefix("log:") == true)
        }
    }

    @Test("ACC-12 sixth guess of a code is refused", arguments: Backend.enabled)
    func sixthGuessRefused(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000004"])
            let id = try #require(started.string("verificationId"))
            let code = try #require(app.lastCode(to: "+8613800000004"))
            let wrong = code == "000000" ? "111111" : "000000"
            for _ in 0..<5 {
                let reply = try await app.call(.post, "/v1/auth/sessions", json: ["verificationId": id, "code": wrong])
                #expect(reply.status == .badRequest)
                #expect(reply.string("code") == "verification-failed")
            }
            let sixth = try await app.call(.post, "/v1/auth/sessions", json: ["verificationId": id, "code": code])
            #expect(sixth.status == .tooManyRequests)
            #expect(sixth.string("code") == "verification-locked")
            #expect(sixth.string("token") == nil)
        }
    }

    @Test("ACC-12 expired code is refused", arguments: Backend.enabled)
    func expiredCode(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000005"])
            let id = try #require(started.string("verificationId"))
            let code = try #require(app.lastCode(to: "+8613800000005"))
            clock.advance(seconds: 601)
            let reply = try await app.call(.post, "/v1/auth/sessions", json: ["verificationId": id, "code": code])
            #expect(reply.status == .badRequest)
            #expect(reply.string("code") == "verification-failed")
        }
    }

    @Test("ACC-12 used code is refused", arguments: Backend.enabled)
    func reusedCode(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000006"])
            let id = try #require(started.string("verificationId"))
            let code = try #require(app.lastCode(to: "+8613800000006"))
            let first = try await app.call(.post, "/v1/auth/sessions", json: ["verificationId": id, "code": code])
            #expect(first.status == .created)
            let second = try await app.call(.post, "/v1/auth/sessions", json: ["verificationId": id, "code": code])
            #expect(second.status == .badRequest)
            #expect(second.string("token") == nil)
        }
    }

    @Test("a new code makes the earlier one stop working", arguments: Backend.enabled)
    func newCodeReplacesOld(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let first = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000007"])
            let firstCode = try #require(app.lastCode(to: "+8613800000007"))
            _ = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000007"])
            let reply = try await app.call(
                .post,
                "/v1/auth/sessions",
                json: ["verificationId": try #require(first.string("verificationId")), "code": firstCode]
            )
            #expect(reply.status == .badRequest)
        }
    }

    @Test("ACC-12 codes per number are rate limited with Retry-After", arguments: Backend.enabled)
    func perNumberLimit(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            for _ in 0..<3 {
                #expect(
                    try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000008"]).status
                        == .accepted
                )
            }
            let limited = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000008"])
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(!limited.body.contains("13800000008"))
            #expect(app.outboxMessages().count == 3)
            // The refusal is a logged security event naming the kind of limit, never the number (SEC-01).
            let refusal = try #require(try await loggedEntries(app.services.store).last)
            #expect(refusal.detail == "refused by the otp-number limit")
            #expect(refusal.purpose == .abusePrevention && refusal.actor == "anonymous" && refusal.subject == nil)
            #expect(refusal.initiation.action == "startPhoneVerification")
        }
    }

    @Test("signing out ends the session", arguments: Backend.enabled)
    func signOut(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000009")
            #expect(try await app.call(.delete, "/v1/auth/sessions/current", token: token).status == .noContent)
            let after = try await app.call(.get, "/v1/me", token: token)
            #expect(after.status == .unauthorized)
            #expect(after.headers[.contentType] == "application/problem+json")
        }
    }

    @Test("the bearer scheme is case-insensitive, the token exact", arguments: Backend.enabled)
    func bearerForms(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000010")
            for accepted in ["Bearer \(token)", "bearer \(token)", "BEARER  \(token)\t", "Bearer \t\(token) "] {
                #expect(try await app.call(.get, "/v1/me", authorization: accepted).status == .ok, "\(accepted)")
            }
            for refused in [
                "Bearer", "Bearer ", "Basic \(token)", "Bearer\(token)", "Bearer x\(token)", "Bearer \(token)x",
                "Bearer \(token.dropLast())", "Token \(token)",
            ] {
                let reply = try await app.call(.get, "/v1/me", authorization: refused)
                #expect(reply.status == .unauthorized, "\(refused)")
            }
        }
    }

    @Test("ACC-05 no operation other than verifyPhone creates an account")
    func onlySelfRegistration() async throws {
        try await TestApp.run(.sqlite) { app in
            // Operations that act on an existing person (blockUser) are fine; none may make one.
            let creating = implementedOperations(services: app.services).filter { operation in
                let id = operation.operationId.lowercased()
                return ["create", "register", "add", "import", "provision", "invite"].contains { id.hasPrefix($0) }
                    && (id.contains("user") || id.contains("account"))
            }
            #expect(creating.isEmpty, "\(creating)")
            let before = try await app.services.store.database.read { sql in
                try await sql.raw("SELECT id FROM users").all().count
            }
            _ = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000010"])
            let after = try await app.services.store.database.read { sql in
                try await sql.raw("SELECT id FROM users").all().count
            }
            #expect(before == after)
        }
    }
}
