import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing
import Yams

@testable import KithStore

@Suite("Partners refer, people register (ACC-05)")
struct PartnerTests {
    @Test(
        "ACC-05 a partner creates referral codes and sees only how many signed up with each, never who",
        arguments: Backend.enabled
    )
    func referralCounts(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let partner = try await app.services.partners.create(
                name: "store.hangzhou",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            let created = try await app.call(.post, "/v1/partner/referral-codes", token: partner.token)
            #expect(created.status == .created, "\(created.body)")
            let code = try #require(created.string("code"))
            for (n, referral) in [code, code, "UNKNOWN"].enumerated() {
                let phone = "+8613900090\(String(format: "%03d", n))"
                let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": phone])
                let verified = try await app.call(
                    .post,
                    "/v1/auth/sessions",
                    json: [
                        "verificationId": try #require(started.string("verificationId")),
                        "code": try #require(app.lastCode(to: phone)), "referralCode": referral,
                    ]
                )
                #expect(verified.status == .created)
            }
            // Signing in again with the code does not count: only new accounts do.
            _ = try await app.signUp("+8613900090000")
            let stats = try await app.call(.get, "/v1/partner/referral-codes", token: partner.token)
            let codes = try #require(stats.json["codes"] as? [[String: Any]])
            #expect(codes.count == 1 && codes[0]["signups"] as? Int == 2, "\(stats.body)")
            #expect(!stats.body.contains("13900090") && !stats.body.contains("userId"))
            // A person's or an operator's token is not a partner's.
            let ann = try await app.person(1, name: "Ann")
            #expect(try await app.call(.get, "/v1/partner/referral-codes", token: ann.token).status == .forbidden)
            #expect(try await app.call(.get, "/v1/partner/referral-codes").status == .unauthorized)
        }
    }

    /// A request body for `schema` with every property set: a fresh number wherever a number goes.
    static func sample(_ schema: Any?, name: String, in document: [String: Any], phone: String) -> Any {
        var node = schema as? [String: Any] ?? [:]
        while let ref = node["$ref"] as? String {
            var target: Any = document
            for part in ref.dropFirst(2).split(separator: "/") {
                target = (target as? [String: Any])?[String(part)] ?? [:]
            }
            node = target as? [String: Any] ?? [:]
        }
        if let values = node["enum"] as? [Any], let first = values.first { return first }
        switch node["type"] as? String {
        case "integer": return node["minimum"] as? Int ?? 1
        case "boolean": return true
        case "array": return [sample(node["items"], name: name, in: document, phone: phone)]
        case "object", nil:
            let properties = node["properties"] as? [String: Any] ?? [:]
            return properties.reduce(into: [String: Any]()) { body, property in
                body[property.key] = sample(property.value, name: property.key, in: document, phone: phone)
            }
        default:
            let lowered = name.lowercased()
            if lowered.contains("phone") || lowered == "from" { return phone }
            if (node["pattern"] as? String) == "^[0-9]{6}$" || lowered == "code" { return "123456" }
            return "sample"
        }
    }

    @Test(
        "ACC-05 only verifyPhone opens accounts: every operation of the contract, as a partner, an operator, a person or no one, opens none and sends no credentials",
        arguments: Backend.enabled
    )
    func onlyVerifyPhoneOpensAccounts(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let initiation = Initiation(kind: .operatorCommand, action: "test")
            let partner = try await app.services.partners.create(name: "store.walk", initiation: initiation)
            let staff = try await app.services.operators.create(name: "staff.walk", initiation: initiation)
            let ann = try await app.person(1, name: "Ann")
            let document = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
            let operations = try OpenAPIContractTests.documented()
            let accounts = try await app.count("users")
            var calls = 0
            for (n, operation) in operations.sorted(by: { $0.operationId < $1.operationId }).enumerated() {
                let item = (document["paths"] as? [String: Any])?[operation.path] as? [String: Any]
                let definition = item?[operation.method.lowercased()] as? [String: Any]
                let schema =
                    ((definition?["requestBody"] as? [String: Any])?["content"] as? [String: Any])?[
                        "application/json"
                    ] as? [String: Any]
                let phone = "+8613900091\(String(format: "%03d", n))"
                let body = schema.map { Self.sample($0["schema"], name: "", in: document, phone: phone) }
                let path = operation.path.replacingOccurrences(
                    of: #"\{[^}]+\}"#,
                    with: ann.id,
                    options: .regularExpression
                )
                for token in [partner.token, staff.token, ann.token, nil] as [String?] {
                    _ = try await app.call(
                        HTTPRequest.Method(rawValue: operation.method)!,
                        path,
                        token: token,
                        json: body as? [String: Any]
                    )
                    calls += 1
                }
            }
            #expect(calls == operations.count * 4 && operations.count >= 50)
            #expect(try await app.count("users") == accounts, "an operation other than verifyPhone opened an account")
            for message in app.outboxMessages() {
                let body = message["body"] ?? ""
                #expect(!body.lowercased().contains("password") && !body.contains("密码"), "credentials sent: \(body)")
                #expect(["verification", "number-opt-out", "invitation", "marketing"].contains(message["kind"] ?? ""))
            }
            // And verifyPhone does, for the number's own holder.
            _ = try await app.signUp("+8613900092001")
            #expect(try await app.count("users") == accounts + 1)
        }
    }
}
