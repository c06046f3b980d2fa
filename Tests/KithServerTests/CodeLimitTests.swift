import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithStore
import KithTestSupport
import Testing

/// Issue 15 §1: a code is asked for by an unknown party, never presumed to be the number's holder; what a
/// stranger can make Kith send is limited per number, per client and per number range, the same on every node.
@Suite("One-time code limits (GEN-08, ACC-12, CON-08)")
struct CodeLimitTests {
    static func ask(
        _ app: TestApp,
        _ phone: String,
        from client: String? = nil,
        kind: VerificationKind = .signIn
    ) async throws -> TestApp.Reply {
        let path = kind == .signIn ? "/v1/auth/verifications" : "/v1/number-opt-out/verifications"
        let headers: HTTPFields = client.map { [HTTPField.Name("X-Forwarded-For")!: $0] } ?? [:]
        return try await app.call(.post, path, json: ["phone": phone], headers: headers)
    }

    static func retryAfter(_ reply: TestApp.Reply) -> Int? { reply.headers[.retryAfter].flatMap { Int($0) } }

    @Test(
        "GEN-08 ACC-12 a number receives at most 3 codes an hour and 6 a day across kinds, with a growing back-off",
        arguments: Backend.enabled
    )
    func perNumber(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock), codes: CodeSendingPolicy()) { app in
            let number = "+8613800000801"
            #expect(try await Self.ask(app, number).status == .accepted)
            let soon = try await Self.ask(app, number)
            #expect(soon.status == .tooManyRequests && Self.retryAfter(soon) == 30)
            clock.advance(seconds: 30)
            // The opt-out code counts with the sign-in codes: one number, one set of limits.
            #expect(try await Self.ask(app, number, kind: .numberOptOut).status == .accepted)
            clock.advance(seconds: 59)
            #expect(Self.retryAfter(try await Self.ask(app, number)) == 1)  // the back-off doubled to 60 s
            clock.advance(seconds: 1)
            #expect(try await Self.ask(app, number).status == .accepted)  // third, at 90 s
            clock.advance(seconds: 120)
            let hourly = try await Self.ask(app, number)
            #expect(hourly.status == .tooManyRequests && Self.retryAfter(hourly) == 3600 - 210)
            clock.advance(seconds: 3391)
            #expect(try await Self.ask(app, number).status == .accepted)  // fourth, at 3,601 s
            clock.advance(seconds: 240)
            #expect(try await Self.ask(app, number).status == .accepted)  // fifth: back-off 240 s
            clock.advance(seconds: 479)
            #expect(Self.retryAfter(try await Self.ask(app, number)) == 1)  // back-off 480 s
            clock.advance(seconds: 1)
            #expect(try await Self.ask(app, number).status == .accepted)  // sixth, at 4,321 s
            clock.advance(seconds: 3600)
            let daily = try await Self.ask(app, number)
            #expect(daily.status == .tooManyRequests && Self.retryAfter(daily) == 86_400 - 7921)
            #expect(app.outboxMessages().count == 6)
            clock.advance(seconds: Double(86_400 - 7921))
            #expect(try await Self.ask(app, number).status == .accepted)
            #expect(app.outboxMessages().count == 7)
        }
    }

    @Test(
        "ACC-12 GEN-08 no code goes to an invalid, fixed-line, premium-rate or toll-free number, and no limit is charged for one",
        arguments: Backend.enabled
    )
    func onlyNumbersATextCanReach(backend: Backend) async throws {
        try await TestApp.run(backend, codes: CodeSendingPolicy()) { app in
            let (token, _) = try await app.signUp("+8613800000821")
            let before = app.outboxMessages().count
            let refused = [
                "(010) 6552 9988", "+86 10 6552 9988", "+86 16812345", "+86 800 123 4567", "+86 400 123 4567",
                "+44 20 7946 0958", "+86 144 3700 6817", "+86 179 3700 6817", "+886 912 345 67", "+999 1234 5678",
            ]
            // More refusals from one client than its burst of five codes: none of them may count.
            for number in refused {
                for kind in [VerificationKind.signIn, .numberOptOut] {
                    let reply = try await Self.ask(app, number, from: "203.0.113.9", kind: kind)
                    #expect(reply.status == .unprocessableContent, "\(kind)")
                    #expect(reply.json["code"] as? String == "invalid-field")
                    #expect(reply.json["field"] as? String == "phone")
                    let digits = number.filter(\.isNumber)
                    #expect(!reply.body.contains(String(digits.suffix(6))), "a refusal echoed the number")
                }
                let change = try await app.call(
                    .post,
                    "/v1/me/phone-number/verifications",
                    token: token,
                    json: ["phone": number]
                )
                #expect(change.status == .unprocessableContent)
            }
            #expect(app.outboxMessages().count == before, "a code went to a number no text can reach")
            #expect(try await Self.ask(app, "+8613800000822", from: "203.0.113.9").status == .accepted)
            #expect(app.outboxMessages().count == before + 1)
        }
    }

    @Test(
        "GEN-08 every refusal is the same 429 with Retry-After, whatever the reason, and names no number",
        arguments: Backend.enabled
    )
    func uniformRefusal(backend: Backend) async throws {
        try await TestApp.run(backend, codes: CodeSendingPolicy(), live: true) { app in
            // The number's back-off.
            _ = try await Self.ask(app, "+8613800000811", from: "198.51.100.7")
            let byNumber = try await Self.ask(app, "+8613800000811", from: "198.51.100.7")
            // The client's address: five codes at once, to numbers of five ranges.
            for range in 0..<5 { _ = try await Self.ask(app, "+86139\(range)0000812", from: "203.0.113.5") }
            let byAddress = try await Self.ask(app, "+8613950000812", from: "203.0.113.5")
            // The pumping guard: eight numbers of one range from one network.
            for i in 0..<7 { _ = try await Self.ask(app, "+86147370060\(10 + i)", from: "192.0.2.\(10 + i % 2)") }
            let byRange = try await Self.ask(app, "+8614737006020", from: "192.0.2.10")
            let refusals = [byNumber, byAddress, byRange]
            for refusal in refusals {
                #expect(refusal.status == .tooManyRequests)
                #expect((Self.retryAfter(refusal) ?? 0) > 0)
                #expect(!refusal.body.contains("0000812") && !refusal.body.contains("73700"))
            }
            func shape(_ reply: TestApp.Reply) -> String {
                var json = reply.json
                json["instance"] = nil
                return String(describing: json.sorted { $0.key < $1.key })
            }
            #expect(Set(refusals.map(shape)).count == 1, "\(refusals.map(\.body))")
            #expect(Set(refusals.map { $0.headers.map(\.name.canonicalName).sorted() }).count == 1)
            let metrics = try await app.call(.get, "/metrics").body
            for limit in ["otp-number", "otp-ip", "otp-range"] {
                #expect(metrics.contains("kith_limits_refused_total{limit=\"\(limit)\"} 1"), "\(limit)")
            }
        }
    }

    @Test(
        "GEN-08 the pumping guard stops codes to a range asked for from few networks, with a metric and a security event",
        arguments: Backend.enabled
    )
    func pumpingGuard(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock), codes: CodeSendingPolicy(), live: true) { app in
            // Seven numbers of +86 147 3700 **** from two networks go out; the eighth trips the guard.
            for i in 0..<7 {
                let sent = try await Self.ask(
                    app,
                    "+86147370060\(30 + i)",
                    from: i % 2 == 0 ? "198.51.100.1" : "203.0.113.1"
                )
                #expect(sent.status == .accepted)
            }
            let tripped = try await Self.ask(app, "+8614737006040", from: "198.51.100.1")
            #expect(tripped.status == .tooManyRequests && Self.retryAfter(tripped) == 86_400)
            // The whole range is closed, to every client; other ranges are not.
            #expect(try await Self.ask(app, "+8614737009999", from: "192.0.2.50").status == .tooManyRequests)
            #expect(try await Self.ask(app, "+8614737016001", from: "192.0.2.50").status == .accepted)
            #expect(app.outboxMessages().count == 8)
            let metrics = try await app.call(.get, "/metrics").body
            #expect(metrics.contains("kith_codes_blocked_ranges 1"))
            #expect(metrics.contains("kith_limits_tripped_total{guard=\"otp-range\"} 1"))
            let event = try #require(
                try await loggedEntries(app.services.store).last {
                    $0.detail.hasPrefix("codes to a number range stopped")
                }
            )
            #expect(event.purpose == .securityLog && event.actor == "anonymous" && event.subject == nil)
            #expect(!event.detail.contains("73700"))

            // Many people of one range asking from many networks is what sign-up looks like: never blocked.
            for i in 0..<12 {
                let sent = try await Self.ask(app, "+86147380070\(10 + i)", from: "10.0.\(i).1")
                #expect(sent.status == .accepted)
            }

            clock.advance(seconds: 86_401)
            #expect(try await Self.ask(app, "+8614737006040", from: "198.51.100.1").status == .accepted)
            #expect(try await app.call(.get, "/metrics").body.contains("kith_codes_blocked_ranges 0"))
        }
    }

    @Test(
        "CON-08 GEN-08 a number that opted out receives one sign-in code a day and no other code, and the asker cannot tell",
        arguments: Backend.enabled
    )
    func optedOutNumber(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock), codes: CodeSendingPolicy()) { app in
            let number = "+8613800000821"
            let started = try await Self.ask(app, number, kind: .numberOptOut)
            let code = try #require(
                app.outboxMessages().last?["body"]?.split(whereSeparator: { !$0.isNumber }).first { $0.count == 6 }
            )
            let confirmed = try await app.call(
                .post,
                "/v1/number-opt-out",
                json: [
                    "verificationId": try #require(started.string("verificationId")), "code": String(code),
                    "action": "suppress",
                ]
            )
            #expect(confirmed.json["suppressed"] as? Bool == true)
            let sentBefore = app.outboxMessages().count

            clock.advance(seconds: 3600)
            // Asked for another opt-out code, Kith answers as for any number and sends nothing.
            let again = try await Self.ask(app, number, kind: .numberOptOut)
            let other = try await Self.ask(app, "+8613800000822", kind: .numberOptOut)
            #expect(again.status == .accepted && Set(again.json.keys) == Set(other.json.keys))
            let names = { (reply: TestApp.Reply) -> [String] in reply.headers.map(\.name.canonicalName).sorted() }
            #expect(names(again) == names(other))
            #expect(app.outboxMessages().count == sentBefore + 1)  // only the other number's
            let unusable = try await app.call(
                .post,
                "/v1/number-opt-out",
                json: [
                    "verificationId": try #require(again.string("verificationId")), "code": "123456",
                    "action": "inquire",
                ]
            )
            #expect(unusable.status == .badRequest)

            clock.advance(seconds: 3600)
            #expect(try await Self.ask(app, number).status == .accepted)  // the one sign-in code of the day
            #expect(app.outboxMessages().last?["to"] == number)
            clock.advance(seconds: 3600)
            // A second sign-in code that day, and a number-change code, are answered as any number's and not sent.
            let sent = app.outboxMessages().count
            let second = try await Self.ask(app, number)
            let fresh = try await Self.ask(app, "+8613800000823")
            #expect(second.status == .accepted && Set(second.json.keys) == Set(fresh.json.keys))
            #expect(app.outboxMessages().count == sent + 1)  // only the other number's
            clock.advance(seconds: 3600)
            let (token, _) = try await app.signUp("+8613800000824")
            let change = try await app.call(
                .post,
                "/v1/me/phone-number/verifications",
                token: token,
                json: ["phone": number]
            )
            #expect(change.status == .accepted && app.outboxMessages().last?["to"] != number)
            clock.advance(seconds: 86_400 - 7200)
            #expect(try await Self.ask(app, number).status == .accepted)
            #expect(app.outboxMessages().last?["to"] == number)
        }
    }
}
