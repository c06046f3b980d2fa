/// The one error type Kith's capabilities throw.
///
/// `description` is deliberately generic (code and field only) so that an error that ends up in a log
/// line never carries a phone number, a code, a token or a name. The human `detail` is written by Kith
/// itself from fixed text and must never interpolate user input.
public struct KithError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, documented error code. New codes can be added without breaking anyone; each states
    /// its HTTP status where it is declared, so no code can fall through to a silent 500.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// The HTTP status of a problem with this code.
        public let httpStatus: Int
        public init(_ rawValue: String, httpStatus: Int) {
            self.rawValue = rawValue
            self.httpStatus = httpStatus
        }
        public var description: String { rawValue }

        /// The body is not well-formed JSON.
        public static let malformedJSON = Code("malformed-json", httpStatus: 400)
        /// A field has the wrong type, is missing, or is not valid.
        public static let invalidField = Code("invalid-field", httpStatus: 422)
        /// The body carries a field the operation does not define.
        public static let unknownField = Code("unknown-field", httpStatus: 400)
        /// The body is larger than the operation accepts.
        public static let payloadTooLarge = Code("payload-too-large", httpStatus: 413)
        /// No valid session or access token was presented.
        public static let unauthenticated = Code("unauthenticated", httpStatus: 401)
        /// The caller may not perform this operation.
        public static let forbidden = Code("forbidden", httpStatus: 403)
        /// The processing needs a consent the person has not given (or has withdrawn).
        public static let consentRequired = Code("consent-required", httpStatus: 403)
        /// Consent evidence says the control was initially checked (ACC-02).
        public static let consentPrechecked = Code("consent-prechecked", httpStatus: 422)
        /// Consent evidence does not match the notice text Kith serves.
        public static let noticeMismatch = Code("notice-mismatch", httpStatus: 422)
        /// The resource does not exist (or is not the caller's).
        public static let notFound = Code("not-found", httpStatus: 404)
        /// The resource exists but does not support the request's method.
        public static let methodNotAllowed = Code("method-not-allowed", httpStatus: 405)
        /// The resource's current state does not allow the request (already connected, no longer pending).
        public static let conflict = Code("conflict", httpStatus: 409)
        /// MSG-05, CON-08: this number cannot be invited now. One answer whatever the reason (it opted out,
        /// was invited lately, belongs to an account), so an inviter learns none of them.
        public static let notInvitable = Code("not-invitable", httpStatus: 409)
        /// Too many requests; retry after the given number of seconds.
        public static let rateLimited = Code("rate-limited", httpStatus: 429)
        /// ACC-12: a right code for an account with a registration lock, without its PIN or with a wrong one.
        public static let registrationLock = Code("registration-lock", httpStatus: 403)
        /// The verification code is wrong, expired or already used.
        public static let verificationFailed = Code("verification-failed", httpStatus: 400)
        /// The verification was attempted too many times; request a new code.
        public static let verificationLocked = Code("verification-locked", httpStatus: 429)
        /// The store cannot accept writes right now (disk full, database unreachable).
        public static let storeUnavailable = Code("store-unavailable", httpStatus: 503)
        /// Something Kith did not expect; nothing was changed.
        public static let internalError = Code("internal-error", httpStatus: 500)
    }

    public var code: Code
    /// The request field at fault, as a JSON pointer-ish path (`phone`, `evidence.initialState`).
    public var field: String?
    /// Fixed, human-readable text telling the caller what to fix. Never contains user input.
    public var detail: String
    /// Seconds after which a retry may succeed (for `rateLimited`).
    public var retryAfter: Int?

    public init(_ code: Code, field: String? = nil, detail: String, retryAfter: Int? = nil) {
        self.code = code
        self.field = field
        self.detail = detail
        self.retryAfter = retryAfter
    }

    public var description: String {
        if let field { return "KithError(\(code), field: \(field))" }
        return "KithError(\(code))"
    }
}

extension KithError {
    public static func invalid(_ field: String, _ detail: String) -> KithError {
        KithError(.invalidField, field: field, detail: detail)
    }

    public static let unauthenticated = KithError(
        .unauthenticated,
        detail: "Sign in first: send a valid bearer token in the Authorization header."
    )

    public static func consentRequired(_ purpose: PurposeID) -> KithError {
        KithError(
            .consentRequired,
            field: "purpose",
            detail: "This needs your consent to the purpose '\(purpose.rawValue)'. Grant it, then try again."
        )
    }
}
