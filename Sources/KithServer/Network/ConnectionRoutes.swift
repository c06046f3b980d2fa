import Hummingbird
import KithCore
import KithStore

struct RespondBody: StrictDecodable {
    static let fields: Set<String> = ["action"]
    var action: SocialNetwork.Response
}

struct ConnectionRequestsResponse: Codable, Sendable {
    var incoming: [ConnectionRequest]
    var outgoing: [ConnectionRequest]
}

struct ConnectionsResponse: Codable, Sendable {
    var connections: [PersonSummary]
    /// Pass as `after` for the next page; absent on the last page.
    var next: String?
}

struct SecondDegreeResponse: Codable, Sendable {
    var people: [SecondDegreePerson]
}

struct EndorseBody: StrictDecodable {
    static let fields: Set<String> = ["preset", "text"]
    var preset: EndorsementTag.Preset?
    var text: String?

    func validate() throws {
        switch (preset, text) {
        case (.some, nil): return
        case (nil, .some(let text)):
            let scalars = text.unicodeScalars
            guard (1...EndorsementTag.maximumTextLength).contains(scalars.count),
                !scalars.contains(where: \.isControlCharacter), scalars.contains(where: { !$0.properties.isWhitespace })
            else {
                throw KithError.invalid("text", "A tag has 1 to \(EndorsementTag.maximumTextLength) characters.")
            }
        default:
            throw KithError.invalid("preset", "Send either a preset tag or your own text, not both.")
        }
    }

    var tag: EndorsementTag {
        if let preset { return .preset(preset) }
        return .text(text ?? "")
    }
}

struct EndorsementCreated: Codable, Sendable {
    var endorsementId: String
}

struct HideEndorsementBody: StrictDecodable {
    static let fields: Set<String> = ["hidden"]
    var hidden: Bool
}

/// `requestConnection`, `listConnectionRequests`, `respondToConnection`, `removeConnection`,
/// `listConnections`, `blockUser`, `unblockUser`, `listSecondDegree`, `endorse`, `hideEndorsement`,
/// `deleteEndorsement` (issue 4 §2–4, MSG-01).
struct ConnectionRoutes {
    let services: KithServices

    func register(on api: API) {
        let network = services.network
        api.add(.post, "/v1/me/connection-requests", "requestConnection") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(PersonBody.self, context: context, maxBytes: 4096)
            let (made, created) = try await network.requestConnection(
                from: user,
                to: body.user,
                initiation: context.initiation("requestConnection")
            )
            return JSONResponse(made, status: created ? .created : .ok)
        }

        api.add(.get, "/v1/me/connection-requests", "listConnectionRequests") { _, context in
            let user = try context.requireUser().user
            let (incoming, outgoing) = try await network.pendingRequests(of: user)
            return JSONResponse(ConnectionRequestsResponse(incoming: incoming, outgoing: outgoing))
        }

        api.add(.post, "/v1/me/connection-requests/{requestId}", "respondToConnection") { request, context in
            let user = try context.requireUser().user
            let id = try context.identifier("requestId")
            let body = try await request.decodeStrict(RespondBody.self, context: context, maxBytes: 4096)
            return JSONResponse(
                try await network.respond(
                    to: id,
                    by: user,
                    with: body.action,
                    initiation: context.initiation("respondToConnection")
                )
            )
        }

        api.add(.delete, "/v1/me/connections/{userId}", "removeConnection") { _, context in
            let user = try context.requireUser().user
            try await network.removeConnection(
                user,
                try context.userParameter(),
                initiation: context.initiation("removeConnection")
            )
            return Response(status: .noContent)
        }

        api.add(.get, "/v1/users/{userId}/connections", "listConnections") { request, context in
            let viewer = try context.requireUser().user
            let owner = try context.userParameter()
            let limit = try request.limit(default: 100, maximum: 500)
            let after = request.uri.queryParameters["after"].map(String.init)
            if let after, after.unicodeScalars.count > 64 {
                throw KithError.invalid("after", "This is not a page cursor.")
            }
            try await services.throttleRead(by: viewer, of: owner, context: context, operation: "listConnections")
            let page = try await network.connections(of: owner, viewer: viewer, after: after, limit: limit)
            return JSONResponse(
                ConnectionsResponse(connections: page, next: page.count == limit ? page.last?.userId.rawValue : nil)
            )
        }

        api.add(.post, "/v1/me/blocks", "blockUser") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(PersonBody.self, context: context, maxBytes: 4096)
            try await network.block(user, body.user, initiation: context.initiation("blockUser"))
            return Response(status: .noContent)
        }

        api.add(.delete, "/v1/me/blocks/{userId}", "unblockUser") { _, context in
            let user = try context.requireUser().user
            try await network.unblock(user, try context.userParameter(), initiation: context.initiation("unblockUser"))
            return Response(status: .noContent)
        }

        api.add(.get, "/v1/me/network/second-degree", "listSecondDegree") { request, context in
            let user = try context.requireUser().user
            let limit = try request.limit(default: 50, maximum: 200)
            try await services.throttleRead(by: user, of: nil, context: context, operation: "listSecondDegree")
            return JSONResponse(
                SecondDegreeResponse(
                    people: try await services.suggestions.secondDegree(
                        of: user,
                        limit: limit,
                        initiation: context.initiation("listSecondDegree")
                    )
                )
            )
        }

        api.add(.post, "/v1/users/{userId}/endorsements", "endorse") { request, context in
            let user = try context.requireUser().user
            let endorsee = try context.userParameter()
            let body = try await request.decodeStrict(EndorseBody.self, context: context, maxBytes: 4096)
            let (id, created) = try await network.endorse(
                endorsee,
                by: user,
                tag: body.tag,
                initiation: context.initiation("endorse")
            )
            return JSONResponse(EndorsementCreated(endorsementId: id), status: created ? .created : .ok)
        }

        api.add(.patch, "/v1/me/endorsements/{endorsementId}", "hideEndorsement") { request, context in
            let user = try context.requireUser().user
            let id = try context.identifier("endorsementId")
            let body = try await request.decodeStrict(HideEndorsementBody.self, context: context, maxBytes: 4096)
            try await network.setEndorsementHidden(
                id,
                of: user,
                hidden: body.hidden,
                initiation: context.initiation("hideEndorsement")
            )
            return Response(status: .noContent)
        }

        api.add(.delete, "/v1/me/endorsements/{endorsementId}", "deleteEndorsement") { _, context in
            let user = try context.requireUser().user
            try await network.deleteEndorsement(
                try context.identifier("endorsementId"),
                of: user,
                initiation: context.initiation("deleteEndorsement")
            )
            return Response(status: .noContent)
        }
    }
}
