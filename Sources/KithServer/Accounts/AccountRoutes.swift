import Foundation
import Hummingbird
import KithCore
import KithStore

struct StartVerificationBody: StrictDecodable {
    static let fields: Set<String> = ["phone"]
    var phone: String

    func validate() throws {
        guard phone.unicodeScalars.count <= 64 else {
            throw KithError.invalid("phone", "A phone number has at most 64 characters.")
        }
    }
}

struct VerifyBody: StrictDecodable {
    static let fields: Set<String> = [
        "verificationId", "code", "noticeVersion", "registrationLockPin", "invitationCode", "referralCode",
    ]
    var verificationId: String
    var code: String
    /// The privacy notice version the person was shown before signing up (ACC-01).
    var noticeVersion: Int?
    /// The registration-lock PIN, for an account that has one (ACC-12).
    var registrationLockPin: String?
    /// The code of the invitation link the person came by (MSG-02).
    var invitationCode: String?
    /// A partner's referral code (ACC-05): counted for a new account, and nothing else kept.
    var referralCode: String?

    func validate() throws {
        if let noticeVersion, !(1...1_000_000).contains(noticeVersion) {
            throw KithError.invalid("noticeVersion", "There is no privacy notice with this version.")
        }
        if let registrationLockPin, registrationLockPin.unicodeScalars.count > 64 {
            throw KithError.invalid("registrationLockPin", "A registration-lock PIN is 6 to 12 digits.")
        }
        if let referralCode, referralCode.unicodeScalars.count > 64 {
            throw KithError.invalid("referralCode", "Use the referral code as the partner gave it.")
        }
        if let invitationCode, invitationCode.unicodeScalars.count > 64 {
            throw KithError.invalid("invitationCode", "Use the code at the end of the invitation's link.")
        }
    }
}

/// `changePhoneNumber` and `deleteMyAccount`: a verification and the code sent for it (DSR-03, DSR-04).
struct ChangeNumberBody: StrictDecodable {
    static let fields: Set<String> = ["verificationId", "code"]
    var verificationId: String
    var code: String

    func validate() throws {
        guard code.utf8.count == 6, code.allSatisfy(\.isASCIIDigit) else {
            throw KithError.invalid("code", "The code has 6 digits.")
        }
        guard verificationId.unicodeScalars.count <= 64 else {
            throw KithError.invalid("verificationId", "This is not a verification ID.")
        }
    }
}

/// `setRegistrationLock` (ACC-12).
struct RegistrationLockBody: StrictDecodable {
    static let fields: Set<String> = ["pin"]
    var pin: String

    func validate() throws {
        guard pin.utf8.count <= 64 else { throw KithError.invalid("pin", "A registration-lock PIN is 6 to 12 digits.") }
    }
}

struct VerificationStarted: Codable, Sendable {
    var verificationId: String
    var expiresIn: Int
    var status = "code-sent"
}

struct SessionResponse: Codable, Sendable {
    var token: String
    var userId: String
    var expiresAt: Int64
    var newAccount: Bool
    /// The inviter, for a new account that came by an invitation to its own number.
    var invitedBy: Inviter?
}

struct MeResponse: Codable, Sendable {
    var userId: String
    var phone: String
    var createdAt: Int64
    /// Whether a registration lock protects the account (ACC-12).
    var registrationLock: Bool
}

/// `startPhoneVerification`, `verifyPhone`, `signOut`, `getMe`, `startPhoneNumberChange`,
/// `changePhoneNumber`, `setRegistrationLock`, `removeRegistrationLock` (ACC-04, ACC-05, ACC-12, DSR-03).
struct AccountRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.post, "/v1/auth/verifications", "startPhoneVerification") { request, context in
            let body = try await request.decodeStrict(
                StartVerificationBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            let started = try await services.sendCode(
                to: body.phone,
                kind: .signIn,
                context: context,
                operation: "startPhoneVerification"
            )
            return JSONResponse(started, status: .accepted)
        }

        api.add(.post, "/v1/auth/sessions", "verifyPhone") { request, context in
            let body = try await request.decodeStrict(
                VerifyBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            guard body.code.count == services.accounts.policy.codeLength, body.code.allSatisfy(\.isASCIIDigit) else {
                throw KithError.invalid("code", "The code has \(services.accounts.policy.codeLength) digits.")
            }
            guard body.verificationId.count <= 64 else {
                throw KithError.invalid("verificationId", "This is not a verification ID.")
            }
            try await services.limitCodeGuesses(context, operation: "verifyPhone")
            let session = try await services.accounts.verify(
                id: body.verificationId,
                code: body.code,
                noticeVersion: body.noticeVersion,
                registrationLockPin: body.registrationLockPin,
                initiation: context.initiation("verifyPhone")
            )
            if session.newAccount, let code = body.referralCode { try await services.partners.countSignup(code: code) }
            var inviter: Inviter?
            if session.newAccount, let code = body.invitationCode {
                inviter = try await services.invitations.inviter(ofLink: code, for: session.user)
            }
            return JSONResponse(
                SessionResponse(
                    token: session.token,
                    userId: session.user.rawValue,
                    expiresAt: session.expiresAt,
                    newAccount: session.newAccount,
                    invitedBy: inviter
                ),
                status: session.newAccount ? .created : .ok
            )
        }

        api.add(.delete, "/v1/auth/sessions/current", "signOut") { request, context in
            let principal = try context.requireUser()
            if let token = request.bearerToken {
                try await services.accounts.signOut(
                    token: token,
                    of: principal.user,
                    initiation: context.initiation("signOut")
                )
            }
            return Response(status: .noContent)
        }

        api.add(.get, "/v1/me", "getMe") { _, context in
            let principal = try context.requireUser()
            return JSONResponse(try await me(principal.user))
        }

        api.add(.post, "/v1/me/phone-number/verifications", "startPhoneNumberChange") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(
                StartVerificationBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            let started = try await services.sendCode(
                to: body.phone,
                kind: .numberChange,
                for: user,
                context: context,
                operation: "startPhoneNumberChange"
            )
            return JSONResponse(started, status: .accepted)
        }

        api.add(.put, "/v1/me/phone-number", "changePhoneNumber") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(ChangeNumberBody.self, context: context, maxBytes: 4096)
            try await services.limitCodeGuesses(context, operation: "changePhoneNumber")
            _ = try await services.accounts.changeNumber(
                verificationId: body.verificationId,
                code: body.code,
                of: user,
                initiation: context.initiation("changePhoneNumber")
            )
            return JSONResponse(try await me(user))
        }

        api.add(.put, "/v1/me/registration-lock", "setRegistrationLock") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(RegistrationLockBody.self, context: context, maxBytes: 4096)
            try await services.accounts.setRegistrationLock(
                body.pin,
                of: user,
                initiation: context.initiation("setRegistrationLock")
            )
            return Response(status: .noContent)
        }

        api.add(.delete, "/v1/me/registration-lock", "removeRegistrationLock") { _, context in
            let user = try context.requireUser().user
            try await services.accounts.removeRegistrationLock(
                of: user,
                initiation: context.initiation("removeRegistrationLock")
            )
            return Response(status: .noContent)
        }
    }

    func me(_ user: UserID) async throws -> MeResponse {
        guard let (phone, createdAt, locked) = try await services.accounts.phoneNumber(of: user) else {
            throw KithError.unauthenticated
        }
        return MeResponse(userId: user.rawValue, phone: phone.e164, createdAt: createdAt, registrationLock: locked)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension Request {
    /// The bearer token of the `Authorization` header, if any.
    var bearerToken: String? {
        guard let header = headers[.authorization] else { return nil }
        let scheme = header.utf8.prefix(7).map { (65...90).contains($0) ? $0 + 32 : $0 }
        guard scheme.elementsEqual("bearer ".utf8) else { return nil }
        // Optional whitespace around the token (RFC 9110 §5.6.3): spaces and tabs, nothing else.
        let token = header.utf8.dropFirst(7).drop { $0 == 0x20 || $0 == 0x09 }
        let end = token.lastIndex { $0 != 0x20 && $0 != 0x09 }
        return end.map { String(Substring(token[...$0])) }
    }
}

/// Resolves the bearer token to a principal; routes decide whether they need one.
struct AuthenticationMiddleware: RouterMiddleware {
    let accounts: PhoneAccounts

    func handle(
        _ request: Request,
        context: KithRequestContext,
        next: @concurrent (Request, KithRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let token = request.bearerToken else { return try await next(request, context) }
        // An unknown or expired token makes the caller anonymous: public operations still answer,
        // operations that need a principal answer 401.
        guard token.count <= 128, let principal = try await accounts.authenticate(token: token) else {
            return try await next(request, context)
        }
        var context = context
        context.identity = .user(principal)
        return try await next(request, context)
    }
}
