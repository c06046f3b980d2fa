import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

extension TestApp {
    /// The rows of `table`.
    func count(_ table: String) async throws -> Int {
        try await services.store.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self)
                ?? 0
        }
    }
}

@Suite("Invitations and replies (MSG-01..05, CON-08)")
struct InvitationTests {
    /// Numbers of people who do not use Kith.
    static let strangers = (1...6).map { "+8613900080\(String(format: "%03d", $0))" }

    static var sms: InvitationPolicy {
        var policy = InvitationPolicy()
        policy.sms = true
        return policy
    }

    @Test("MSG-01 endorsing, tagging, connecting or updating a profile sends nothing", arguments: Backend.enabled)
    func nothingButInvitationsSends(backend: Backend) async throws {
        try await TestApp.run(backend, invitations: Self.sms) { app in
            let ann = try await app.person(1, name: "Ann")
            let bob = try await app.person(2, name: "Bob")
            let sent = app.outboxMessages().count
            try await app.connect(ann, bob)
            let endorsed = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["preset": "reliable"]
            )
            #expect(endorsed.status == .created)
            let tagged = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["text": "Knows everyone at \(Self.strangers[0])"]
            )
            #expect(tagged.status == .created, "\(tagged.body)")
            let updated = try await app.call(
                .patch,
                "/v1/me/profile",
                token: ann.token,
                json: ["employer": "Kith Labs", "city": "杭州"]
            )
            #expect(updated.status == .ok)
            #expect(app.outboxMessages().count == sent, "an act that is not an invitation sent a message")
        }
    }

    @Test(
        "MSG-02 MSG-03 a preview shows the exact text: the inviter's own name, a link and fixed words, no one else",
        arguments: Backend.enabled
    )
    func previewIsTheExactText(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann Inviter")
            let bob = try await app.person(2, name: "Bob Colleague")
            try await app.connect(ann, bob)
            _ = try await app.call(
                .post,
                "/v1/users/\(ann.id)/endorsements",
                token: bob.token,
                json: ["preset": "mentor"]
            )
            let (preview, _) = try await app.invite(ann, Self.strangers[0])
            #expect(preview.status == .ok, "\(preview.body)")
            let text = try #require(preview.string("text"))
            let link = try #require(preview.string("link"))
            #expect(text.contains("Ann Inviter") && text.contains(link) && link.hasPrefix("https://kith.example/i/"))
            #expect(!text.contains("Bob") && !text.contains("mentor"), "\(text)")
            let words = text.replacingOccurrences(of: link, with: "")
            #expect(words.allSatisfy { !$0.isNumber }, "no count: \(text)")
            #expect(preview.string("textSHA256") == text.sha256Hex)
            #expect(preview.string("channel") == "share" && !text.hasPrefix("【Kith】"), "the inviter's own voice")
            #expect(!preview.body.contains(Self.strangers[0]) && !preview.body.contains("13900080001"))

            // The template lint: only the inviter's name and the link vary; every other word is fixed.
            for sms in [false, true] {
                let one = MessageTemplate.invitation(inviter: "◊NAME◊", link: "◊LINK◊", sms: sms).body
                let other = MessageTemplate.invitation(inviter: "※", link: "¤", sms: sms).body
                #expect(
                    one.replacingOccurrences(of: "◊NAME◊", with: "").replacingOccurrences(of: "◊LINK◊", with: "")
                        == other.replacingOccurrences(of: "※", with: "").replacingOccurrences(of: "¤", with: "")
                )
                #expect(one.allSatisfy { !$0.isNumber }, "no count in an invitation")
            }
            // SMS is off unless the operator turns it on.
            let sms = try await app.call(
                .post,
                "/v1/me/invitations/previews",
                token: ann.token,
                json: ["phone": Self.strangers[1], "channel": "sms"]
            )
            #expect(sms.status == .unprocessableContent && sms.json["field"] as? String == "channel")
            // Without a display name, nothing says who it is from: refused.
            let nameless = try await app.person(3)
            let anonymous = try await app.call(
                .post,
                "/v1/me/invitations/previews",
                token: nameless.token,
                json: ["phone": Self.strangers[1]]
            )
            #expect(anonymous.status == .conflict && anonymous.json["field"] as? String == "displayName")
        }
    }

    @Test(
        "MSG-02 MSG-04 a send needs the inviter's own valid preview token: none, another's, altered text or an expired one is refused",
        arguments: Backend.enabled
    )
    func sendNeedsItsPreview(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock), invitations: Self.sms) { app in
            let ann = try await app.person(1, name: "Ann")
            let bob = try await app.person(2, name: "Bob")
            let preview = try await app.call(
                .post,
                "/v1/me/invitations/previews",
                token: ann.token,
                json: ["phone": Self.strangers[0], "channel": "sms"]
            )
            let token = try #require(preview.string("previewToken"))
            let sent = app.outboxMessages().count
            func send(_ token: String, as person: TestApp.Person) async throws -> TestApp.Reply {
                try await app.call(.post, "/v1/me/invitations", token: person.token, json: ["previewToken": token])
            }
            let none = try await app.call(.post, "/v1/me/invitations", token: ann.token, json: [:])
            #expect(none.status == .unprocessableContent || none.status == .badRequest, "\(none.body)")
            let forged = try await send(String(token.dropLast(4)) + "AAAA", as: ann)
            #expect(forged.status == .unprocessableContent && forged.json["field"] as? String == "previewToken")
            let others = try await send(token, as: bob)
            #expect(others.status == .unprocessableContent && others.json["field"] as? String == "previewToken")
            // The inviter's name changed since the preview: the text would differ, so it is not sent.
            _ = try await app.call(.patch, "/v1/me/profile", token: ann.token, json: ["displayName": "Ann B."])
            let altered = try await send(token, as: ann)
            #expect(altered.status == .conflict && altered.json["field"] as? String == "previewToken")
            _ = try await app.call(.patch, "/v1/me/profile", token: ann.token, json: ["displayName": "Ann"])
            clock.advance(seconds: Double(InvitationPolicy().previewLifetime + 1))
            let expired = try await send(token, as: ann)
            #expect(expired.status == .unprocessableContent && expired.json["field"] as? String == "previewToken")
            // Nothing was written or sent by any of them.
            #expect(app.outboxMessages().count == sent)
            #expect(try await app.count("invitations") == 0)
            #expect(try await app.count("invitation_recipients") == 0)
            #expect(try await loggedEntries(app.services.store).allSatisfy { !$0.detail.hasPrefix("invitation sent") })
        }
    }

    @Test(
        "MSG-02 MSG-04 an SMS invitation's body is the previewed text byte for byte, and its evidence is the inviter's logged act",
        arguments: Backend.enabled
    )
    func smsIsThePreviewedText(backend: Backend) async throws {
        try await TestApp.run(backend, invitations: Self.sms) { app in
            let ann = try await app.person(1, name: "Ann")
            let (preview, sent) = try await app.invite(ann, Self.strangers[0], channel: "sms", clientActionId: "tap-42")
            let reply = try #require(sent)
            #expect(reply.status == .created, "\(reply.body)")
            let line = try #require(app.outboxMessages().last)
            #expect(line["kind"] == "invitation" && line["to"] == Self.strangers[0])
            #expect(line["body"] == preview.string("text") && line["body"]?.hasPrefix("【Kith】") == true)
            #expect(line["body"]?.contains("回T退订") == true)
            let invitation = try #require(reply.json["invitation"] as? [String: Any])
            #expect(invitation["messageId"] as? String == line["messageId"] && reply.json["text"] == nil)

            let evidence = try await app.services.operators.messageEvidence(
                try #require(line["messageId"]),
                by: "dpo",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            let body = try #require(line["body"])
            #expect(evidence.entry.evidence?["previewSHA256"] == body.sha256Hex)
            #expect(evidence.entry.evidence?["clientActionId"] == "tap-42")
            #expect(evidence.entry.initiation.action == "sendInvitation" && evidence.entry.initiation.session != nil)
            #expect(evidence.entry.purpose == .invitations && "log:\(evidence.entry.seq)" == line["evidence"])
            #expect(
                ProcessingLog.check(
                    [evidence.proof],
                    head: evidence.treeHead,
                    publicKey: app.services.store.log.publicKey
                ) == []
            )
            // The inviter's list names the invitation, never the number.
            let list = try await app.call(.get, "/v1/me/invitations", token: ann.token)
            #expect((list.json["invitations"] as? [[String: Any]])?.count == 1)
            #expect(!list.body.contains(Self.strangers[0]) && !list.body.contains("13900080001"))
            // No log line of the server and no log entry holds the recipient's number.
            for number in [Self.strangers[0], String(Self.strangers[0].dropFirst(3))] {
                #expect(!app.logs.all.contains { $0.contains(number) })
                #expect(try await loggedEntries(app.services.store).allSatisfy { !"\($0)".contains(number) })
            }
        }
    }

    @Test(
        "MSG-05 CON-08 a number invited by anyone in 30 days, opted out or an account's gets one and the same refusal",
        arguments: Backend.enabled
    )
    func oneAnswerForEveryRefusal(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let ann = try await app.person(1, name: "Ann")
            let bob = try await app.person(2, name: "Bob")
            let (_, first) = try await app.invite(ann, Self.strangers[0])
            #expect(first?.status == .created && first?.string("text") != nil, "\(first?.body ?? "")")
            #expect(try await app.inbound(from: Self.strangers[1], text: "STOP").status == .noContent)
            let refusals = [
                try await app.invite(bob, Self.strangers[0]).preview,  // invited lately, by Ann
                try await app.invite(ann, Self.strangers[0]).preview,  // and by the same inviter
                try await app.invite(bob, Self.strangers[1]).preview,  // opted out
                try await app.invite(bob, ann.phone).preview,  // an account's number
            ]
            for refusal in refusals {
                #expect(refusal.status == .conflict && refusal.json["code"] as? String == "not-invitable")
                #expect(refusal.body == refusals[0].body && refusal.headers == refusals[0].headers)
            }
            // A preview made before the other invitation is refused at the send with the same answer.
            let early = try await app.call(
                .post,
                "/v1/me/invitations/previews",
                token: bob.token,
                json: ["phone": Self.strangers[2]]
            )
            _ = try await app.invite(ann, Self.strangers[2])
            let late = try await app.call(
                .post,
                "/v1/me/invitations",
                token: bob.token,
                json: ["previewToken": try #require(early.string("previewToken"))]
            )
            #expect(late.status == .conflict && late.body == refusals[0].body)

            // After 30 days the number may be invited again; the sweep forgets the old keyed index.
            clock.advance(seconds: 30 * 86_400 + 1)
            _ = try await RetentionSweeper(store: app.services.store, logger: quietLogger()).sweep()
            #expect(try await app.count("invitation_recipients") == 0)
            #expect(try await app.count("invitations") == 0)
            let bobAgain = TestApp.Person(token: try await app.signUp(bob.phone).token, id: bob.id, phone: bob.phone)
            #expect(try await app.invite(bobAgain, Self.strangers[0]).sent?.status == .created)
            #expect(try await app.invite(bobAgain, Self.strangers[1]).preview.status == .conflict, "an opt-out stays")
        }
    }

    @Test("MSG-05 an inviter sends at most their daily cap", arguments: Backend.enabled)
    func dailyCap(backend: Backend) async throws {
        var policy = InvitationPolicy()
        policy.perInviter = .perDay(2, burst: 2)
        try await TestApp.run(backend, invitations: policy) { app in
            let ann = try await app.person(1, name: "Ann")
            for number in Self.strangers.prefix(2) {
                #expect(try await app.invite(ann, number).sent?.status == .created)
            }
            let third = try await app.invite(ann, Self.strangers[2]).sent
            #expect(third?.status == .tooManyRequests && third?.headers[.retryAfter] != nil)
            #expect(try await app.count("invitation_recipients") == 2, "the refused one left no trace")
        }
    }

    @Test(
        "MSG-05 CON-08 STOP through the signed webhook stops invitations; an unsigned or mis-signed call is refused and changes nothing",
        arguments: Backend.enabled
    )
    func stopReplies(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann")
            let entries = try await loggedEntries(app.services.store).count
            #expect(try await app.inbound(from: Self.strangers[0], text: "STOP", secret: nil).status == .unauthorized)
            #expect(
                try await app.inbound(from: Self.strangers[0], text: "STOP", secret: "guess").status == .unauthorized
            )
            #expect(try await app.count("number_suppressions") == 0)
            #expect(try await loggedEntries(app.services.store).count == entries)

            // Every way of writing stop, in any width and case; other replies are not processed.
            for (number, text) in zip(Self.strangers, ["ＳＴＯＰ", " td ", "t", "退订", "回T退订。"]) {
                #expect(try await app.inbound(from: number, text: text).status == .noContent)
                let refused = try await app.invite(ann, number).preview
                #expect(refused.status == .conflict, "\(text) did not stop invitations")
            }
            #expect(try await app.inbound(from: Self.strangers[5], text: "Who is this?").status == .noContent)
            #expect(try await app.invite(ann, Self.strangers[5]).sent?.status == .created)
            #expect(try await app.count("number_suppressions") == 5)
            for text in ["STOP", "Stop", "stop!", "ＴＤ", "回T退订", "UNSUBSCRIBE"] { #expect(InboundMessages.isStop(text)) }
            for text in ["STOPS", "TT", "不要退订吗", "", "OK"] { #expect(!InboundMessages.isStop(text)) }

            // From an account's number, STOP ends marketing and leaves the account as it chose to be.
            _ = try await app.grant(.marketing, token: ann.token)
            #expect(try await app.services.consents.current(.marketing, of: UserID(rawValue: ann.id)) != nil)
            #expect(try await app.inbound(from: ann.phone, text: "退订").status == .noContent)
            #expect(try await app.services.consents.current(.marketing, of: UserID(rawValue: ann.id)) == nil)
            #expect(try await app.count("number_suppressions") == 5)
        }
    }

    @Test("CON-08 an invitation's link lets its recipient opt out for good", arguments: Backend.enabled)
    func linkOptOut(backend: Backend) async throws {
        let clock = ManualClock()
        try await TestApp.run(backend, clock: .manual(clock)) { app in
            let ann = try await app.person(1, name: "Ann")
            let sent = try #require(try await app.invite(ann, Self.strangers[0]).sent)
            let link = try #require((sent.json["invitation"] as? [String: Any])?["link"] as? String)
            let code = String(try #require(link.split(separator: "/").last))
            #expect(try await app.call(.post, "/v1/message-opt-outs", json: ["linkCode": code]).status == .noContent)
            #expect(try await app.call(.post, "/v1/message-opt-outs", json: ["linkCode": "nope"]).status == .notFound)
            clock.advance(seconds: 31 * 86_400)
            _ = try await RetentionSweeper(store: app.services.store, logger: quietLogger()).sweep()
            #expect(try await app.count("invitation_recipients") == 0)
            let annAgain = TestApp.Person(token: try await app.signUp(ann.phone).token, id: ann.id, phone: ann.phone)
            let refused = try await app.invite(annAgain, Self.strangers[0]).preview
            #expect(refused.status == .conflict && refused.string("code") == "not-invitable", "\(refused.body)")
        }
    }

    @Test(
        "MSG-02 whoever signs up through the link learns who invited them and may connect; nothing is connected for them",
        arguments: Backend.enabled
    )
    func signUpThroughTheLink(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann")
            let sent = try #require(try await app.invite(ann, Self.strangers[0]).sent)
            let link = try #require((sent.json["invitation"] as? [String: Any])?["link"] as? String)
            let code = String(try #require(link.split(separator: "/").last))
            func signUp(_ phone: String) async throws -> TestApp.Reply {
                let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": phone])
                return try await app.call(
                    .post,
                    "/v1/auth/sessions",
                    json: [
                        "verificationId": try #require(started.string("verificationId")),
                        "code": try #require(app.lastCode(to: phone)), "invitationCode": code,
                    ]
                )
            }
            // The link passed on to another number names no one.
            let other = try await signUp(Self.strangers[1])
            #expect(other.status == .created && other.json["invitedBy"] == nil)
            let invited = try await signUp(Self.strangers[0])
            #expect(invited.status == .created, "\(invited.body)")
            let by = try #require(invited.json["invitedBy"] as? [String: Any])
            #expect(by["userId"] as? String == ann.id && by["displayName"] as? String == "Ann")
            let token = try #require(invited.string("token"))
            let theirs = try await app.call(
                .get,
                "/v1/users/\(try #require(invited.string("userId")))/connections",
                token: token
            )
            #expect(theirs.status == .ok && !theirs.body.contains(ann.id), "connected without asking")
            let asked = try await app.call(.post, "/v1/me/connection-requests", token: token, json: ["userId": ann.id])
            #expect(asked.status == .created, "\(asked.body)")
        }
    }
}
