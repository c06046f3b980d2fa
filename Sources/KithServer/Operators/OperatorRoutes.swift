import Hummingbird
import HummingbirdAuth
import KithCore
import KithStore

/// Resolves an operator's bearer token (`kop_…`) on the operator routes (SEC-02). A person's session
/// token is not an operator's: it leaves the identity a person, whom the routes answer with 403.
struct OperatorAuthenticator: AuthenticatorMiddleware {
    typealias Context = KithRequestContext
    let operators: Operators

    func authenticate(request: Request, context: KithRequestContext) async throws -> Principal? {
        guard let token = request.bearerToken, token.count <= 128,
            let name = try await operators.authenticate(token: token)
        else { return nil }
        return .operator(name: name)
    }
}

/// `verifyErasure`: the person's ID and number, as the person or a request gave them.
struct VerifyErasureBody: StrictDecodable {
    static let fields: Set<String> = ["userId", "phone"]
    var userId: String
    var phone: String

    func validate() throws {
        guard (1...64).contains(userId.unicodeScalars.count) else {
            throw KithError.invalid("userId", "This is not a user ID.")
        }
        guard phone.unicodeScalars.count <= 64 else { throw KithError.invalid("phone", "This is not a phone number.") }
    }
}

/// `resolveDataRequest`: the answer, or a refusal with its reason code (DSR-07).
struct ResolveDataRequestBody: StrictDecodable {
    static let fields: Set<String> = ["outcome", "reasonCode", "text"]
    var outcome: String
    var reasonCode: String?
    var text: String

    func validate() throws {
        switch outcome {
        case "answered":
            guard reasonCode == nil else { throw KithError.invalid("reasonCode", "Only a refusal has a reason code.") }
        case "refused":
            guard let reasonCode, DataRequest.RefusalReason(rawValue: reasonCode) != nil else {
                let reasons = DataRequest.RefusalReason.allCases.map(\.rawValue).joined(separator: ", ")
                throw KithError.invalid("reasonCode", "A refusal needs one of: \(reasons).")
            }
        default:
            throw KithError.invalid("outcome", "Use answered or refused.")
        }
        guard text.utf8.count <= 16_000 else { throw KithError.invalid("text", "At most 4,000 characters.") }
    }
}

/// `getMessageEvidence`, `verifyErasure`, `listDataRequests`, `resolveDataRequest`: the operator's route group, authenticated apart from users; every read here
/// is a logged act of the operator (SEC-02, MSG-04).
struct OperatorRoutes {
    let services: KithServices

    func register(on api: API) {
        let group = api.router.group().add(middleware: OperatorAuthenticator(operators: services.operators))
        api.add(.get, "/v1/operator/messages/{messageId}/evidence", "getMessageEvidence", in: group) {
            _,
            context in
            let name = try context.requireOperator()
            let id = context.parameters.get("messageId") ?? ""
            guard id.count <= 64 else {
                throw KithError(.notFound, field: "messageId", detail: "There is no such message.")
            }
            return JSONResponse(
                try await services.operators.messageEvidence(
                    id,
                    by: name,
                    initiation: context.initiation("getMessageEvidence")
                )
            )
        }

        api.add(.get, "/v1/operator/data-requests", "listDataRequests", in: group) { request, context in
            let name = try context.requireOperator()
            var status: DataRequest.Status?
            if let text = request.uri.queryParameters["status"] {
                guard let parsed = DataRequest.Status(rawValue: String(text)) else {
                    throw KithError.invalid("status", "Use open, answered or refused.")
                }
                status = parsed
            }
            let requests = try await services.dataRequests.list(
                status: status,
                by: name,
                initiation: context.initiation("listDataRequests")
            )
            return JSONResponse(DataRequestList(requests: requests))
        }

        api.add(.post, "/v1/operator/data-requests/{requestId}/resolution", "resolveDataRequest", in: group) {
            request,
            context in
            let name = try context.requireOperator()
            let id = try context.identifier("requestId")
            let body = try await request.decodeStrict(ResolveDataRequestBody.self, context: context, maxBytes: 20_000)
            return JSONResponse(
                try await services.dataRequests.resolve(
                    id,
                    refusing: body.reasonCode.flatMap(DataRequest.RefusalReason.init),
                    text: body.text,
                    by: name,
                    initiation: context.initiation("resolveDataRequest")
                )
            )
        }

        api.add(.post, "/v1/operator/erasure-verifications", "verifyErasure", in: group) { request, context in
            let name = try context.requireOperator()
            let body = try await request.decodeStrict(VerifyErasureBody.self, context: context, maxBytes: 4096)
            guard case .success(let phone) = PhoneNumber.parse(body.phone, defaultRegion: services.defaultRegion) else {
                throw KithError.invalid("phone", "This is not a phone number.")
            }
            return JSONResponse(
                try await services.erasure.verify(
                    UserID(rawValue: body.userId),
                    phone: phone,
                    by: name,
                    initiation: context.initiation("verifyErasure")
                )
            )
        }
    }
}

/// `listDataRequests`.
struct DataRequestList: Codable, Sendable {
    var requests: [DataRequest]
}
