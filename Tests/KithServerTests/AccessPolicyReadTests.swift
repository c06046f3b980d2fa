import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import Testing

@testable import KithStore

/// Every read operation of the contract, called by another person, shows of a subject no more than the
/// access policy admits (issue 10 §4).
@Suite("The access policy holds on every read of the contract (PYM-04, DSR-09)")
struct AccessPolicyReadTests {
    /// A value per field no other response would contain by chance.
    static let values: [ProfileField: String] = [
        .displayName: "Subjectname Qx7", .headline: "Headline Qx7", .employer: "Employer Qx7",
        .school: "School Qx7", .city: "City Qx7", .avatarURL: "https://img.example/qx7.png",
    ]
    static let audiences: [ProfileField: Audience] = [
        .displayName: .everyone, .headline: .connections, .employer: .onlyMe, .school: .connections,
        .city: .onlyMe, .avatarURL: .everyone,
    ]

    /// Calls every GET operation of the contract as `viewer` (path parameters naming `subject` where
    /// they name a person), and returns each answer's body by operation.
    static func readEverything(
        _ app: TestApp,
        as viewer: TestApp.Person,
        about subject: TestApp.Person,
        through middle: TestApp.Person
    ) async throws -> [String: String] {
        var bodies: [String: String] = [:]
        for operation in implementedOperations(services: app.services) where operation.method == "GET" {
            var paths = [operation.path.replacingOccurrences(of: "{userId}", with: subject.id)]
            // A connection list is also read through the person they share.
            if operation.operationId == "listConnections" {
                paths.append(operation.path.replacingOccurrences(of: "{userId}", with: middle.id))
            }
            for path in paths {
                let concrete = path.replacingOccurrences(of: "{messageId}", with: "m_none")
                let reply = try await app.call(.get, concrete + "?locale=en", token: viewer.token)
                bodies[operation.operationId + " " + concrete, default: ""] += reply.body
            }
        }
        return bodies
    }

    @Test(
        "PYM-04 no read operation returns a field of another person the policy did not admit",
        arguments: Backend.enabled
    )
    func noUnadmittedField(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            var fields: [String: Any] = [:]
            for (field, value) in Self.values { fields[field.rawValue] = value }
            fields["visibility"] = Dictionary(
                uniqueKeysWithValues: Self.audiences.map { ($0.key.rawValue, $0.value.rawValue) }
            )
            let subject = try await app.person(1, fields: fields)
            let viewer = try await app.person(2, name: "Viewer")
            let middle = try await app.person(3, name: "Middle")
            try await app.connect(viewer, middle)
            try await app.connect(middle, subject)
            try await app.consentTo("personalised", viewer)

            let settings = SubjectSettings(audiences: Self.audiences)
            for relationship in [Relationship.other, .connection] {
                if relationship == .connection { try await app.connect(viewer, subject) }
                let admitted = AccessPolicy.admitted(to: .person(relationship), of: settings)
                let bodies = try await Self.readEverything(app, as: viewer, about: subject, through: middle)
                #expect(bodies.keys.contains { $0.hasPrefix("getProfile") })
                for (field, value) in Self.values where !admitted.fields.contains(field) {
                    for (operation, body) in bodies {
                        #expect(
                            !body.contains(value),
                            "\(operation) shows \(field) to a viewer standing \(relationship)"
                        )
                    }
                }
                // What is admitted is shown where it belongs: the profile has exactly the admitted fields.
                let profile = try await app.call(.get, "/v1/users/\(subject.id)/profile", token: viewer.token)
                let shown = Set(((profile.json["fields"] as? [String: String]) ?? [:]).keys)
                #expect(shown == Set(admitted.fields.map(\.rawValue)))
            }
        }
    }

    @Test(
        "DSR-09 a person who said \"don't suggest me\" is in nobody's suggestions or second degree",
        arguments: Backend.enabled
    )
    func dontSuggestMeEverywhere(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let subject = try await app.person(11, name: "Quiet Person")
            let viewer = try await app.person(12, name: "Viewer")
            let middle = try await app.person(13, name: "Middle")
            try await app.connect(viewer, middle)
            try await app.connect(middle, subject)
            try await app.consentTo("personalised", viewer)
            func secondDegree() async throws -> [String] {
                let reply = try await app.call(.get, "/v1/me/network/second-degree", token: viewer.token)
                #expect(reply.status == .ok)
                return (reply.json["people"] as? [[String: Any]] ?? []).compactMap {
                    ($0["person"] as? [String: Any])?["userId"] as? String
                }
            }
            #expect(try await secondDegree().contains(subject.id))
            #expect(try await app.suggestions(viewer).ids.contains(subject.id))

            let off = try await app.setSuggestions(subject, ["suggestMeToOthers": false])
            #expect(off.status == .ok)
            #expect(!(try await secondDegree().contains(subject.id)), "the second degree honours \"don't suggest me\"")
            #expect(!(try await app.suggestions(viewer).ids.contains(subject.id)))
            let explained = try await app.call(
                .get,
                "/v1/me/suggestions/\(subject.id)/explanation",
                token: viewer.token
            )
            #expect(explained.status == .notFound)
        }
    }
}
