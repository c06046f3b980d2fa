import KithCore
import KithStore

extension KithServices {
    /// Sends a one-time code to a number the caller gave: parse, rate-limit per client address and per
    /// number (keyed digests only), log the act, then send with its evidence (ACC-12, MSG-04). Shared by
    /// sign-in and by a non-user's number opt-out (CON-08).
    func sendCode(
        to text: String,
        kind: VerificationKind,
        context: KithRequestContext,
        operation: String
    ) async throws -> VerificationStarted {
        let phone: PhoneNumber
        switch PhoneNumber.parse(text, defaultRegion: defaultRegion) {
        case .success(let parsed): phone = parsed
        case .failure(let failure):
            throw KithError.invalid("phone", "This is not a phone number we can send a code to (\(failure.rawValue)).")
        }
        let limiter = RateLimiter(store: store)
        try await limiter.take(
            "otp-ip:" + store.vault.keyedDigest("ip", context.clientAddress),
            limit: rateLimits.codesPerAddress,
            initiation: context.initiation(operation)
        )
        try await limiter.take(
            "otp-number:" + store.vault.blindIndex(phone),
            limit: rateLimits.codesPerNumber,
            initiation: context.initiation(operation)
        )
        let pending = try await accounts.startVerification(
            phone: phone,
            kind: kind,
            initiation: context.initiation(operation)
        )
        try await messages.send(pending.message)
        return VerificationStarted(verificationId: pending.id, expiresIn: pending.expiresIn)
    }
}
