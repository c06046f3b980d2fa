import Foundation
import HTTPTypes
import KithServer
import KithTestSupport
import Testing
import Yams

@Suite("The OpenAPI contract")
struct OpenAPIContractTests {
    static func documented() throws -> [APIOperation] {
        let document = try #require(try Yams.load(yaml: OpenAPIDocument.yaml) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: Any])
        var operations: [APIOperation] = []
        for (path, item) in paths {
            for (method, operation) in try #require(item as? [String: Any])
            where ["get", "post", "put", "patch", "delete"].contains(method) {
                let id = try #require((operation as? [String: Any])?["operationId"] as? String)
                operations.append(APIOperation(method: method.uppercased(), path: path, operationId: id))
            }
        }
        return operations
    }

    @Test("every route is in the document and every documented operation is a route")
    func routesMatchDocument() async throws {
        try await TestApp.run(.sqlite) { app in
            let implemented = Set(implementedOperations(services: app.services))
            let documented = Set(try Self.documented())
            #expect(implemented.subtracting(documented).isEmpty, "undocumented: \(implemented.subtracting(documented))")
            #expect(
                documented.subtracting(implemented).isEmpty,
                "not implemented: \(documented.subtracting(implemented))"
            )
            let served = try await app.call(.get, "/openapi.yaml")
            #expect(served.status == .ok)
            #expect(served.body == OpenAPIDocument.yaml)
        }
    }

    @Test("the operation IDs the foundation promises exist")
    func requiredOperations() throws {
        let ids = Set(try Self.documented().map(\.operationId))
        for id in [
            "startPhoneVerification", "verifyPhone", "signOut", "getMe", "getPrivacyNotice", "listPurposes",
            "grantConsent",
            "withdrawConsent", "listMyConsents", "health",
            // Issue 4: profiles, connections, endorsements, the second degree and suggestions.
            "getProfile", "updateProfile", "requestConnection", "respondToConnection", "removeConnection",
            "listConnections", "blockUser", "listSecondDegree", "endorse", "hideEndorsement", "listSuggestions",
            "dismissSuggestion", "explainSuggestion", "getSuggestionSettings", "updateSuggestionSettings",
        ] {
            #expect(ids.contains(id), "\(id)")
        }
    }
}
