import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

/// Issue 15 §6: numbers change hands. A person changes their number; a registration lock keeps an account
/// its owner's; a number silent for long enough opens a fresh account, never the previous holder's.
@Suite("Number change, registration lock, recycled numbers (DSR-03, ACC-12)")
struct NumberChangeTests {
    static func code(_ app: TestApp, to phone: String) throws -> String {
        try #require(app.lastCode(to: phone))
    }

    static func column(_ app: TestApp, _ sql: SQLQueryString) async throws -> [String?] {
        try await app.services.store.database.read { db in
            try await db.raw(sql).all().map { try $0.decode(column: "value", as: String?.self) }
        }
    }

    @Test(
        "DSR-03 a code to the new number moves the account, the discovery index and the contact edges with it",
        arguments: Backend.enabled
    )
    func changeNumber(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let old = "+8613800000701"
            let new = "+8613800000702"
            let (ann, annID) = try await app.signUp(old)
            try await DiscoveryTests.makeDiscoverable(app, token: ann)
            let (bob, _) = try await app.signUp("+8613800000703")
            try await app.grant(.contactDiscovery, token: bob)
            #expect(DiscoveryTests.matchedUsers(try await DiscoveryTests.upload(app, token: bob, [old])) == [annID])

            let started = try await app.call(
                .post,
                "/v1/me/phone-number/verifications",
                token: ann,
                json: ["phone": new]
            )
            #expect(started.status == .accepted)
            let id = try #require(started.string("verificationId"))
            #expect(app.outboxMessages().last?["to"] == new)
            // Someone else's code does not move Ann's number, nor does a sign-in code of the new number.
            let intruder = try await app.call(
                .put,
                "/v1/me/phone-number",
                token: bob,
                json: ["verificationId": id, "code": try Self.code(app, to: new)]
            )
            #expect(intruder.status == .badRequest)
            let changed = try await app.call(
                .put,
                "/v1/me/phone-number",
                token: ann,
                json: ["verificationId": id, "code": try Self.code(app, to: new)]
            )
            #expect(changed.status == .ok, "\(changed.body)")
            #expect(changed.string("phone") == new && changed.string("userId") == annID)
            #expect(try await app.call(.get, "/v1/me", token: ann).string("phone") == new)

            // Bob's address book held the old number: that edge is gone, and the old number matches no one.
            let edges = try await Self.column(
                app,
                "SELECT owner_id AS value FROM contact_edges WHERE contact_id = \(bind: annID)"
            )
            #expect(edges.isEmpty)
            #expect(DiscoveryTests.matchedUsers(try await DiscoveryTests.upload(app, token: bob, [old])).isEmpty)
            #expect(DiscoveryTests.matchedUsers(try await DiscoveryTests.upload(app, token: bob, [new])) == [annID])
            // The old number is free: its next sign-in is a new, empty account.
            let (_, fresh) = try await app.signUp(old)
            #expect(fresh != annID)
            let logged = try await loggedEntries(app.services.store)
            #expect(logged.contains { $0.detail == "phone number changed; 1 contact edges of the old number removed" })
            #expect(!logged.contains { $0.detail.contains("0000701") || $0.detail.contains("0000702") })
        }
    }

    @Test(
        "DSR-03 a number another account holds is refused only once its code is right, and nothing changes",
        arguments: Backend.enabled
    )
    func numberOfAnotherAccount(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (ann, _) = try await app.signUp("+8613800000711")
            _ = try await app.signUp("+8613800000712")
            let taken = try await app.call(
                .post,
                "/v1/me/phone-number/verifications",
                token: ann,
                json: ["phone": "+8613800000712"]
            )
            let free = try await app.call(
                .post,
                "/v1/me/phone-number/verifications",
                token: ann,
                json: ["phone": "+8613800000713"]
            )
            #expect(taken.status == .accepted && Set(taken.json.keys) == Set(free.json.keys))
            let refused = try await app.call(
                .put,
                "/v1/me/phone-number",
                token: ann,
                json: [
                    "verificationId": try #require(taken.string("verificationId")),
                    "code": try Self.code(app, to: "+8613800000712"),
                ]
            )
            #expect(refused.status == .conflict && refused.json["field"] as? String == "phone")
            #expect(!refused.body.contains("0000712"))
            #expect(try await app.call(.get, "/v1/me", token: ann).string("phone") == "+8613800000711")
        }
    }

    @Test(
        "ACC-12 a registration lock asks for its PIN only after a right code, keeps only scrypt, allows five PINs a day",
        arguments: Backend.enabled
    )
    func registrationLock(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let number = "+8613800000721"
            let (ann, annID) = try await app.signUp(number)
            #expect(
                try await app.call(.put, "/v1/me/registration-lock", token: ann, json: ["pin": "12"]).status
                    == .unprocessableContent
            )
            #expect(
                try await app.call(.put, "/v1/me/registration-lock", token: ann, json: ["pin": "246810"]).status
                    == .noContent
            )
            #expect(try await app.call(.get, "/v1/me", token: ann).json["registrationLock"] as? Bool == true)
            let stored = try #require(
                try await Self.column(app, "SELECT registration_lock AS value FROM users WHERE id = \(bind: annID)")
                    .first
                    ?? nil
            )
            #expect(stored.hasPrefix("scrypt$32768$8$1$") && !stored.contains("246810"))

            // Asking for a code answers as for any number: locked, unlocked or new.
            let locked = try await app.call(.post, "/v1/auth/verifications", json: ["phone": number])
            let fresh = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000722"])
            #expect(locked.status == fresh.status && Set(locked.json.keys) == Set(fresh.json.keys))
            let id = try #require(locked.string("verificationId"))
            let code = try Self.code(app, to: number)
            func verify(_ code: String, pin: String? = nil) async throws -> TestApp.Reply {
                var body: [String: Any] = ["verificationId": id, "code": code]
                if let pin { body["registrationLockPin"] = pin }
                return try await app.call(.post, "/v1/auth/sessions", json: body)
            }
            // A wrong code says nothing of the lock.
            let wrongCode = try await verify(code == "000000" ? "111111" : "000000")
            #expect(wrongCode.status == .badRequest && wrongCode.json["code"] as? String == "verification-failed")
            let needsPin = try await verify(code)
            #expect(needsPin.status == .forbidden && needsPin.json["code"] as? String == "registration-lock")
            #expect(needsPin.json["field"] as? String == "registrationLockPin")
            for _ in 0..<4 {
                #expect(try await verify(code, pin: "135790").status == .forbidden)
            }
            let refusals = try await loggedEntries(app.services.store).filter {
                $0.detail == "registration lock PIN refused"
            }
            #expect(refusals.count == 4)
            let opened = try await verify(code, pin: "246810")  // the code still works: wrong PINs did not spend it
            #expect(opened.status == .ok && opened.string("userId") == annID)

            // Five PINs a day, right or wrong, each spent before it is checked: the sixth waits, even the right one.
            clock.advance(seconds: 60)
            let next = try await app.call(.post, "/v1/auth/verifications", json: ["phone": number])
            let nextID = try #require(next.string("verificationId"))
            let nextCode = try Self.code(app, to: number)
            let spent = try await app.call(
                .post,
                "/v1/auth/sessions",
                json: ["verificationId": nextID, "code": nextCode, "registrationLockPin": "246810"]
            )
            #expect(spent.status == .tooManyRequests && Int(spent.headers[.retryAfter] ?? "") ?? 0 > 0)
            // A wrong code spends no guess and says nothing of the lock, even now.
            let blind = try await app.call(
                .post,
                "/v1/auth/sessions",
                json: [
                    "verificationId": nextID, "code": nextCode == "000000" ? "111111" : "000000",
                    "registrationLockPin": "246810",
                ]
            )
            #expect(blind.status == .badRequest && blind.json["code"] as? String == "verification-failed")

            clock.advance(seconds: 86_400)
            #expect(try await app.call(.delete, "/v1/me/registration-lock", token: ann).status == .noContent)
            let (_, same) = try await app.signUp(number)
            #expect(same == annID)
        }
    }

    @Test(
        "ACC-12 DSR-03 a number silent for 180 days opens a new account and freezes the old; a locked one stays its owner's",
        arguments: Backend.enabled
    )
    func recycledNumbers(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let (_, oldID) = try await app.signUp("+8613800000731")
            let (_, activeID) = try await app.signUp("+8613800000732")
            let (locked, lockedID) = try await app.signUp("+8613800000733")
            #expect(
                try await app.call(.put, "/v1/me/registration-lock", token: locked, json: ["pin": "864202"]).status
                    == .noContent
            )

            clock.advance(seconds: 100 * 86_400)
            #expect(try await app.signUp("+8613800000732").user == activeID)  // 100 days: still the same person
            clock.advance(seconds: 111 * 86_400)  // 211 days since the first session ended 30 days after it began

            let (token, newID) = try await app.signUp("+8613800000731")
            #expect(newID != oldID)
            #expect(try await app.call(.get, "/v1/me", token: token).string("phone") == "+8613800000731")
            let frozen = try await Self.column(app, "SELECT phone_index AS value FROM users WHERE id = \(bind: oldID)")
            #expect(frozen == ["frozen:" + oldID])
            let event = try #require(
                try await loggedEntries(app.services.store).last { $0.detail.hasPrefix("account frozen") }
            )
            #expect(
                event.detail
                    == "account frozen: its number signed in after 180 days without a session, so a new account was opened for it"
            )

            // The locked account is its owner's after any silence: the code alone does not open it, nor a new one.
            let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000733"])
            let id = try #require(started.string("verificationId"))
            let code = try Self.code(app, to: "+8613800000733")
            let withoutPin = try await app.call(.post, "/v1/auth/sessions", json: ["verificationId": id, "code": code])
            #expect(withoutPin.status == .forbidden)
            let withPin = try await app.call(
                .post,
                "/v1/auth/sessions",
                json: ["verificationId": id, "code": code, "registrationLockPin": "864202"]
            )
            #expect(withPin.status == .ok && withPin.string("userId") == lockedID)
        }
    }
}
