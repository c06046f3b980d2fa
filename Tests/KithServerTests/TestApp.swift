import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KithCore
import KithServer
import KithTestSupport
import Logging
import NIOCore
import Testing

@testable import KithStore

/// A Kith application on a test store, driven through its router as a client would, with its outbox
/// in a temporary file and its logs captured.
struct TestApp {
    let services: KithServices
    let client: any TestClientProtocol
    let outbox: String
    let logs: CapturedLogs

    static func run(
        _ backend: Backend,
        catalogue: PurposeCatalogue = .standard,
        clock: WallClock = .system,
        databaseURL: String? = nil,
        codes: CodeSendingPolicy = .seeding,
        reads: ReadThrottlePolicy = ReadThrottlePolicy(),
        deletion: DeletionPolicy = DeletionPolicy(),
        rateLimits: RateLimitPolicy = RateLimitPolicy(),
        invitations: InvitationPolicy = InvitationPolicy(),
        inboundSecret: String? = TestApp.inboundSecret,
        live: Bool = false,
        _ body: @Sendable (TestApp) async throws -> Void
    ) async throws {
        var configuration = KithConfiguration()
        configuration.codes = codes
        configuration.reads = reads
        configuration.deletion = deletion
        configuration.invitations = invitations
        configuration.inboundMessageSecret = inboundSecret
        if live {
            // Over TCP on loopback, behind a "proxy" on loopback: the test names each client in X-Forwarded-For.
            configuration.port = 0
            configuration.trustedProxies = ["127.0.0.0/8", "::1"]
        }
        let testing: TestingSetup = live ? .live : .router
        if let databaseURL {
            try await runOn(databaseURL, configuration, testing, catalogue: catalogue, clock: clock, rateLimits, body)
        } else {
            try await withTestDatabaseURL(backend) { [configuration] url in
                try await runOn(url, configuration, testing, catalogue: catalogue, clock: clock, rateLimits, body)
            }
        }
    }

    private static func runOn(
        _ url: String,
        _ configuration: KithConfiguration,
        _ testing: TestingSetup,
        catalogue: PurposeCatalogue,
        clock: WallClock,
        _ rateLimits: RateLimitPolicy,
        _ body: @Sendable (TestApp) async throws -> Void
    ) async throws {
        var configuration = configuration
        configuration.databaseURL = url
        let outbox = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString).jsonl")
            .path
        configuration.smsOutbox = outbox
        let logs = CapturedLogs()
        var overrides = KithOverrides(clock: clock, catalogue: catalogue, keys: testKeys)
        overrides.rateLimits = rateLimits
        let (app, services) = try await buildApplication(
            configuration: configuration,
            logger: logs.logger(),
            overrides: overrides
        )
        defer { try? FileManager.default.removeItem(atPath: outbox) }
        try await app.test(testing) { client in
            try await body(TestApp(services: services, client: client, outbox: outbox, logs: logs))
        }
    }

    struct Reply: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: String
        /// The body's bytes, for what is not text (an export archive).
        var data = Data()

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }

        func string(_ key: String) -> String? { json[key] as? String }
    }

    @discardableResult
    func call(
        _ method: HTTPRequest.Method,
        _ uri: String,
        token: String? = nil,
        authorization: String? = nil,
        json: [String: Any]? = nil,
        raw: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let authorization { headers[.authorization] = authorization }
        var body: ByteBuffer?
        if let json { body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)) }
        if let raw { body = ByteBuffer(string: raw) }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
            Reply(
                status: response.status,
                headers: response.headers,
                body: String(decoding: response.body.readableBytesView, as: UTF8.self),
                data: Data(response.body.readableBytesView)
            )
        }
    }

    /// The messages in the outbox, oldest first.
    func outboxMessages() -> [[String: String]] {
        guard let text = try? String(contentsOfFile: outbox, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String]
        }
    }

    /// The code of the last verification SMS sent to `phone`. Reads from the newest line back and parses only
    /// lines that name the number, so seeding thousands of people stays linear in the outbox.
    func lastCode(to phone: String) -> String? {
        guard let text = try? String(contentsOfFile: outbox, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n").reversed() where line.contains(phone) {
            guard let message = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: String],
                message["to"] == phone, message["kind"] == "verification", let body = message["body"]
            else { continue }
            let digits = body.split(whereSeparator: { !$0.isNumber }).first { $0.count == 6 }
            return digits.map { String($0) }
        }
        return nil
    }

    /// Signs up (or in) through the API as a person would; returns (token, userId, verification reply).
    func signUp(_ phone: String) async throws -> (token: String, user: String) {
        let started = try await call(.post, "/v1/auth/verifications", json: ["phone": phone])
        #expect(started.status == .accepted)
        let e164 = try PhoneNumber.parse(phone).get().e164
        let code = try #require(lastCode(to: e164))
        let verified = try await call(
            .post,
            "/v1/auth/sessions",
            json: ["verificationId": try #require(started.string("verificationId")), "code": code]
        )
        #expect(verified.status == .created || verified.status == .ok)
        return (try #require(verified.string("token")), try #require(verified.string("userId")))
    }

    /// The SMS provider's webhook secret every test app has, unless a test sets another.
    static let inboundSecret = "test-inbound-secret"

    /// A reply to Kith's messages as the provider hands it on, signed with `secret` (`nil`: unsigned).
    func inbound(from phone: String, text: String, secret: String? = TestApp.inboundSecret) async throws -> Reply {
        let body = try JSONSerialization.data(withJSONObject: ["from": phone, "text": text])
        var headers: HTTPFields = [:]
        if let secret {
            headers[HTTPField.Name("Kith-Signature")!] = InboundMessages.signature(of: body, secret: secret)
        }
        return try await call(
            .post,
            "/v1/inbound-messages",
            raw: String(decoding: body, as: UTF8.self),
            headers: headers
        )
    }

    /// Previews an invitation from `person` to `phone` and sends it; returns both replies.
    func invite(
        _ person: Person,
        _ phone: String,
        channel: String = "share",
        clientActionId: String? = nil
    ) async throws -> (preview: Reply, sent: Reply?) {
        let preview = try await call(
            .post,
            "/v1/me/invitations/previews",
            token: person.token,
            json: ["phone": phone, "channel": channel]
        )
        guard preview.status == .ok, let token = preview.string("previewToken") else { return (preview, nil) }
        var body: [String: Any] = ["previewToken": token]
        if let clientActionId { body["clientActionId"] = clientActionId }
        return (preview, try await call(.post, "/v1/me/invitations", token: person.token, json: body))
    }

    /// Grants consent as a client that showed the current notice's text would.
    @discardableResult
    func grant(_ purpose: PurposeID, token: String, locale: NoticeLocale = .zhCN) async throws -> Reply {
        let catalogue = services.store.catalogue
        return try await call(
            .post,
            "/v1/me/consents",
            token: token,
            json: [
                "purpose": purpose.rawValue,
                "noticeVersion": catalogue.current.version,
                "locale": locale.rawValue,
                "textSHA256": catalogue.purpose(purpose)!.consentText(locale).sha256Hex,
                "initialState": "unchecked",
                "channel": "ios",
            ]
        )
    }
}
