import Hummingbird
import HummingbirdAuth
import KithCore
import KithStore

/// Resolves a partner's bearer token (`kpt_…`) on the partner routes (ACC-05).
struct PartnerAuthenticator: AuthenticatorMiddleware {
    typealias Context = KithRequestContext
    let partners: Partners

    func authenticate(request: Request, context: KithRequestContext) async throws -> Principal? {
        guard let token = request.bearerToken, token.count <= 128,
            let name = try await partners.authenticate(token: token)
        else { return nil }
        return .partner(name: name)
    }
}

struct ReferralCodeList: Codable, Sendable {
    var codes: [ReferralCode]
}

/// `createReferralCode`, `getReferralStats` (ACC-05): a partner refers people with codes and sees only how
/// many signed up with each. There is no partner route that creates an account, attaches a number or sends
/// a message.
struct PartnerRoutes {
    let services: KithServices

    func register(on api: API) {
        let group = api.router.group().add(middleware: PartnerAuthenticator(partners: services.partners))
        api.add(.post, "/v1/partner/referral-codes", "createReferralCode", in: group) { _, context in
            let name = try context.requirePartner()
            return JSONResponse(try await services.partners.createCode(by: name), status: .created)
        }
        api.add(.get, "/v1/partner/referral-codes", "getReferralStats", in: group) { _, context in
            let name = try context.requirePartner()
            return JSONResponse(ReferralCodeList(codes: try await services.partners.codes(of: name)))
        }
    }
}
