import Crypto
import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("Contact discovery (CON-01..08, DSR-10; Ling v. Douyin)")
struct DiscoveryTests {
    /// Turns discoverability on with the text read in `locale`; returns that text's hash.
    @discardableResult
    static func makeDiscoverable(_ app: TestApp, token: String, locale: String = "zh-CN") async throws -> String? {
        let state = try await app.call(.get, "/v1/me/discoverability?locale=\(locale)", token: token)
        #expect(state.json["discoverable"] as? Bool == false, "discoverability must start off (CON-05)")
        let reply = try await app.call(
            .put,
            "/v1/me/discoverability",
            token: token,
            json: [
                "discoverable": true, "noticeVersion": state.json["noticeVersion"] as! Int, "locale": locale,
                "textSHA256": state.string("consentTextSHA256")!, "initialState": "unchecked", "channel": "android",
            ]
        )
        #expect(reply.status == .ok)
        #expect(reply.json["discoverable"] as? Bool == true)
        return state.string("consentTextSHA256")
    }

    static func upload(
        _ app: TestApp,
        token: String,
        _ numbers: [String],
        previous: [String]? = nil,
        recheck: String? = nil
    )
        async throws -> TestApp.Reply
    {
        var body: [String: Any] = ["numbers": numbers]
        if let previous { body["previousNumbers"] = previous }
        if let recheck { body["recheckToken"] = recheck }
        return try await app.call(.post, "/v1/me/contacts/matches", token: token, json: body)
    }

    static func matchedUsers(_ reply: TestApp.Reply) -> [String] {
        (reply.json["matches"] as? [[String: Any]] ?? []).compactMap { $0["userId"] as? String }
    }

    static func edges(_ app: TestApp, of user: String) async throws -> Int {
        try await app.services.store.database.read { sql in
            try await sql.raw("SELECT contact_id FROM contact_edges WHERE owner_id = \(bind: user)").all().count
        }
    }

    /// The needles a number could leave behind: its written forms, hashes and (when it parses) blind index.
    static func traces(of e164: String, written: [String], app: TestApp) -> [String] {
        let digits = String(e164.dropFirst())
        let sha = Array(SHA256.hash(data: Array(e164.utf8)))
        var needles =
            written + [
                e164, digits, String(digits.dropFirst(2)), sha.hexString, Data(sha).base64EncodedString(),
                Array(SHA256.hash(data: Array(digits.utf8))).hexString,
            ]
        if case .success(let phone) = PhoneNumber.parseE164(e164) {
            let blind = app.services.store.vault.blindIndexBytes(phone)
            needles += [blind.hexString, Data(blind).base64EncodedString(), String(blind.hexString.prefix(16))]
        }
        return needles
    }

    /// CON-03 with ACC-12: a non-user's number, a landline, a toll-free number and numbers that do not exist
    /// (an unassigned range, one digit short) all go up in one address book; only the friend matches, the
    /// entries that cannot be an account come back as such, and none of them is anywhere afterwards.
    @Test(
        "CON-03 nonuser number leaves no trace anywhere, nor does an entry that cannot be an account",
        arguments: Backend.enabled
    )
    func canary(backend: Backend) async throws {
        try await withTestDatabaseURL(backend) { url in
            try await TestApp.run(backend, databaseURL: url) { app in
                let (uploaderToken, uploader) = try await app.signUp("+8613800000301")
                let (friendToken, friend) = try await app.signUp("+8613800000302")
                try await Self.makeDiscoverable(app, token: friendToken)
                try await app.grant(.contactDiscovery, token: uploaderToken)
                let reply = try await Self.upload(
                    app,
                    token: uploaderToken,
                    [
                        "138 0000 0302", "139 9988 7766", "+86 139-9988-7766", "(010) 6552 9988", "+86 800 123 4567",
                        "+86 144 3700 6817", "+886 912 345 67",
                    ]
                )
                #expect(reply.status == .ok)
                #expect(Self.matchedUsers(reply) == [friend])
                let invalid = (reply.json["invalid"] as? [[String: Any]] ?? []).map {
                    "\($0["index"] as? Int ?? -1) \($0["reason"] as? String ?? "")"
                }
                #expect(invalid == ["3 not-mobile", "4 not-mobile", "5 invalid-for-region", "6 invalid-for-region"])
                #expect(try await Self.edges(app, of: uploader) == 1, "a matched number is kept as a contact edge")

                let needles =
                    Self.traces(of: "+8613999887766", written: ["139 9988 7766"], app: app)
                    + Self.traces(of: "+861065529988", written: ["6552 9988"], app: app)
                    + Self.traces(of: "+868001234567", written: ["800 123 4567"], app: app)
                    + Self.traces(of: "+8614437006817", written: ["144 3700 6817"], app: app)
                    + Self.traces(of: "+88691234567", written: ["912 345 67"], app: app)
                var haystacks: [(String, String)] = [("logs", app.logs.all.joined(separator: "\n"))]
                haystacks.append(("outbox", (try? String(contentsOfFile: app.outbox, encoding: .utf8)) ?? ""))
                let log = try await app.services.store.database.read { sql in
                    try await sql.raw("SELECT entry FROM processing_log ORDER BY seq").all().map {
                        try $0.decode(column: "entry", as: String.self)
                    }
                }
                #expect(log.contains { $0.contains("numbers matched 1 accounts") })
                haystacks.append(("processing log", log.joined(separator: "\n")))
                haystacks.append(("response", reply.body))
                switch backend {
                case .sqlite:
                    let path = String(url.dropFirst("sqlite://".count))
                    for file in [path, path + "-wal", path + "-shm"] {
                        if let data = FileManager.default.contents(atPath: file) {
                            haystacks.append((file, String(decoding: data, as: UTF8.self)))
                        }
                    }
                    #expect(haystacks.contains { $0.0.hasSuffix("-wal") }, "the WAL must be searched too")
                case .postgres:
                    haystacks.append(("pg_dump", try Self.pgDump(url)))
                }
                for (name, text) in haystacks {
                    for needle in needles {
                        #expect(!text.contains(needle), "an uploaded number that is no account left a trace in \(name)")
                    }
                }
                // The matched friend's number does produce its edge, and the friend's entry names the basis.
                #expect(log.contains { $0.contains("found by a contact upload") })
            }
        }
    }

    static func pgDump(_ url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin/pg_dump")
        process.arguments = ["--data-only", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(data.count > 1000, "the dump must contain the data")
        return String(decoding: data, as: UTF8.self)
    }

    /// CON-05: the match index holds only people who chose to be found, and catches up from the consent ledger.
    @Test("a person made discoverable on another node is found on the next upload, even with that node's clock behind")
    func accountsFromOtherNodes() async throws {
        let backend = Backend.enabled[0]
        let clockA = ManualClock()
        // Node B's clock runs 600 ms behind: its accounts are older than the newest node A has seen.
        let clockB = ManualClock(millis: clockA.millis - 600)
        try await withTestDatabaseURL(backend) { url in
            try await TestApp.run(backend, clock: .manual(clockA), databaseURL: url) { nodeA in
                try await TestApp.run(backend, clock: .manual(clockB), databaseURL: url) { nodeB in
                    let (uploaderToken, _) = try await nodeA.signUp("+8613800000371")
                    try await nodeA.grant(.contactDiscovery, token: uploaderToken)
                    let (firstToken, first) = try await nodeA.signUp("+8613800000372")
                    try await Self.makeDiscoverable(nodeA, token: firstToken)
                    let before = try await Self.upload(nodeA, token: uploaderToken, ["+8613800000372"])
                    #expect(Self.matchedUsers(before) == [first])

                    let (secondToken, second) = try await nodeB.signUp("+8613800000373")
                    try await Self.makeDiscoverable(nodeB, token: secondToken)
                    let after = try await Self.upload(nodeA, token: uploaderToken, ["+8613800000373"])
                    #expect(Self.matchedUsers(after) == [second])

                    clockA.advance(seconds: 5)
                    clockB.advance(seconds: 5)
                    let (thirdToken, third) = try await nodeB.signUp("+8613800000374")
                    try await Self.makeDiscoverable(nodeB, token: thirdToken)
                    let later = try await Self.upload(nodeA, token: uploaderToken, ["+8613800000374"])
                    #expect(Self.matchedUsers(later) == [third])

                    // Registered long before, discoverable only now; then off and on again, all on node B.
                    let (fourthToken, fourth) = try await nodeA.signUp("+8613800000375")
                    let hidden = try await Self.upload(nodeA, token: uploaderToken, ["+8613800000375"])
                    #expect(Self.matchedUsers(hidden).isEmpty)
                    clockA.advance(seconds: 5)
                    clockB.advance(seconds: 5)
                    try await Self.makeDiscoverable(nodeB, token: fourthToken)
                    let found = try await Self.upload(nodeA, token: uploaderToken, ["+8613800000375"])
                    #expect(Self.matchedUsers(found) == [fourth])
                    let off = try await nodeB.call(
                        .put,
                        "/v1/me/discoverability",
                        token: fourthToken,
                        json: ["discoverable": false]
                    )
                    #expect(off.status == .ok)
                    let gone = try await Self.upload(nodeA, token: uploaderToken, ["+8613800000375"])
                    #expect(Self.matchedUsers(gone).isEmpty, "withdrawal on B is honoured by A at once")
                    clockB.advance(seconds: 1)
                    try await Self.makeDiscoverable(nodeB, token: fourthToken)
                    let again = try await Self.upload(nodeA, token: uploaderToken, ["+8613800000375"])
                    #expect(Self.matchedUsers(again) == [fourth])
                }
            }
        }
    }

    @Test("CON-05 nondiscoverable user is never matched and turning off is immediate", arguments: Backend.enabled)
    func discoverability(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (uploaderToken, _) = try await app.signUp("+8613800000311")
            let (friendToken, friend) = try await app.signUp("+8613800000312")
            try await app.grant(.contactDiscovery, token: uploaderToken)
            let before = try await Self.upload(app, token: uploaderToken, ["+8613800000312"])
            #expect(Self.matchedUsers(before).isEmpty, "not discoverable by default")
            try await Self.makeDiscoverable(app, token: friendToken)
            let recheck = before.string("recheckToken")!
            let on = try await Self.upload(
                app,
                token: uploaderToken,
                [],
                previous: ["+8613800000312"],
                recheck: recheck
            )
            #expect(Self.matchedUsers(on) == [friend])
            let off = try await app.call(
                .put,
                "/v1/me/discoverability",
                token: friendToken,
                json: ["discoverable": false]
            )
            #expect(off.json["discoverable"] as? Bool == false)
            let after = try await Self.upload(
                app,
                token: uploaderToken,
                [],
                previous: ["+8613800000312"],
                recheck: on.string("recheckToken")!
            )
            #expect(after.status == .ok)
            #expect(Self.matchedUsers(after).isEmpty)
        }
    }

    @Test("ACC-02 the discoverability text is read in the locale it is granted under", arguments: Backend.enabled)
    func discoverabilityLocale(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000313")
            let chinese = try await app.call(.get, "/v1/me/discoverability", token: token)
            let english = try await Self.makeDiscoverable(app, token: token, locale: "en")
            #expect(english != nil && english != chinese.string("consentTextSHA256"))
            let bad = try await app.call(.get, "/v1/me/discoverability?locale=fr", token: token)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.string("field") == "locale")
        }
    }

    @Test("CON-06 withdrawal and deleteMyContacts delete edges", arguments: Backend.enabled)
    func withdrawalDeletesEdges(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (uploaderToken, uploader) = try await app.signUp("+8613800000321")
            let (friendToken, _) = try await app.signUp("+8613800000322")
            try await Self.makeDiscoverable(app, token: friendToken)
            try await app.grant(.contactDiscovery, token: uploaderToken)
            _ = try await Self.upload(app, token: uploaderToken, ["+8613800000322"])
            #expect(try await Self.edges(app, of: uploader) == 1)
            let deleted = try await app.call(.delete, "/v1/me/contacts", token: uploaderToken)
            #expect(deleted.json["deleted"] as? Int == 1)
            #expect(try await Self.edges(app, of: uploader) == 0)
            _ = try await Self.upload(app, token: uploaderToken, ["+8613800000322"])
            #expect(try await Self.edges(app, of: uploader) == 1)
            _ = try await app.call(.delete, "/v1/me/consents/contact-discovery", token: uploaderToken)
            #expect(try await Self.edges(app, of: uploader) == 0)
            let refused = try await Self.upload(app, token: uploaderToken, ["+8613800000322"])
            #expect(refused.status == .forbidden)
        }
    }

    @Test("CON-07 quota stops the 2001st new number and rechecks are free", arguments: Backend.enabled)
    func quota(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000331")
            try await app.grant(.contactDiscovery, token: token)
            let first = (0..<2000).map { String(format: "+86137%08d", $0) }
            let accepted = try await Self.upload(app, token: token, first)
            #expect(accepted.status == .ok)
            #expect(accepted.json["quotaRemaining"] as? Int == 0)
            let extra = try await Self.upload(app, token: token, ["+8613799999999"])
            #expect(extra.status == .tooManyRequests)
            #expect(Int(extra.headers[.retryAfter] ?? "") ?? 0 > 0)
            let recheck = try await Self.upload(
                app,
                token: token,
                [],
                previous: first,
                recheck: accepted.string("recheckToken")
            )
            #expect(recheck.status == .ok)
            let forged = try await Self.upload(
                app,
                token: token,
                [],
                previous: first + ["+8613799999999"],
                recheck: accepted.string("recheckToken")
            )
            #expect(forged.status == .unprocessableContent)
            #expect(forged.string("field") == "recheckToken")
        }
    }

    @Test("CON-04 entries that are not numbers are reported per entry", arguments: Backend.enabled)
    func garbage(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000341")
            let (friendToken, friend) = try await app.signUp("+8613800000342")
            try await Self.makeDiscoverable(app, token: friendToken)
            try await app.grant(.contactDiscovery, token: token)
            let reply = try await Self.upload(app, token: token, ["清北王淼", "+8613800000342", "", "12"])
            #expect(reply.status == .ok)
            #expect(Self.matchedUsers(reply) == [friend])
            let invalid = reply.json["invalid"] as? [[String: Any]] ?? []
            #expect(invalid.compactMap { $0["index"] as? Int } == [0, 2, 3])
            #expect(!reply.body.contains("王淼"), "labels are never echoed")
            // Names, labels or notes are not accepted at all (CON-04).
            let labelled = try await app.call(
                .post,
                "/v1/me/contacts/matches",
                token: token,
                json: ["numbers": ["+8613800000342"], "names": ["王淼"]]
            )
            #expect(labelled.status == .badRequest)
            #expect(labelled.string("code") == "unknown-field")
            #expect(labelled.string("field") == nil, "a client's own key is never echoed")
            #expect(!labelled.body.contains("王淼"))
            let objects = try await app.call(
                .post,
                "/v1/me/contacts/matches",
                token: token,
                json: ["numbers": [["name": "王淼", "phone": "+8613800000342"]]]
            )
            #expect(objects.status == .unprocessableContent)
        }
    }

    @Test("CON-01 upload without consent is a clear 403", arguments: Backend.enabled)
    func uploadNeedsConsent(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, _) = try await app.signUp("+8613800000351")
            let reply = try await Self.upload(app, token: token, ["+8613800000352"])
            #expect(reply.status == .forbidden)
            #expect(reply.string("code") == "consent-required")
            #expect(reply.headers[.contentType] == "application/problem+json")
            // Refusing it leaves the rest working (ACC-09).
            #expect(try await app.call(.get, "/v1/me", token: token).status == .ok)
        }
    }

    @Test("CON-08 suppressed number is never matched or messaged", arguments: Backend.enabled)
    func suppression(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let nonUser = "+8613800000362"
            let started = try await app.call(.post, "/v1/number-opt-out/verifications", json: ["phone": nonUser])
            #expect(started.status == .accepted)
            let message = try #require(app.outboxMessages().last)
            #expect(message["kind"] == "number-opt-out")
            let code = String(message["body"]!.split(whereSeparator: { !$0.isNumber }).first { $0.count == 6 }!)
            // An opt-out code never signs anyone in.
            let signIn = try await app.call(
                .post,
                "/v1/auth/sessions",
                json: ["verificationId": started.string("verificationId")!, "code": code]
            )
            #expect(signIn.status == .badRequest)
            let inquiry = try await app.call(
                .post,
                "/v1/number-opt-out",
                json: ["verificationId": started.string("verificationId")!, "code": code, "action": "suppress"]
            )
            #expect(inquiry.status == .ok)
            #expect(inquiry.json["suppressed"] as? Bool == true)
            #expect(inquiry.json["registeredAccount"] as? Bool == false)
            #expect((inquiry.json["held"] as? [String])?.count == 1, "nothing but the suppression entry (DSR-10)")
            let stored = try await app.services.store.database.read { sql in
                try await sql.raw("SELECT phone_index FROM number_suppressions").all().map {
                    try $0.decode(column: "phone_index", as: String.self)
                }
            }
            #expect(stored == [app.services.store.vault.blindIndex(try PhoneNumber.parse(nonUser).get())])

            // Later the person registers and even turns discoverability on: suppression still wins for matching.
            let (uploaderToken, _) = try await app.signUp("+8613800000361")
            let (token, _) = try await app.signUp(nonUser)
            try await Self.makeDiscoverable(app, token: token)
            try await app.grant(.contactDiscovery, token: uploaderToken)
            #expect(Self.matchedUsers(try await Self.upload(app, token: uploaderToken, [nonUser])).isEmpty)

        }
    }
}
