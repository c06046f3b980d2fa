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
            limit: rateLimits.codesPerAddress
        )
        try await limiter.take("otp-number:" + store.vault.blindIndex(phone), limit: rateLimits.codesPerNumber)
        let pending = try await accounts.startVerification(
            phone: phone,
            kind: kind,
            initiation: context.initiation(operation)
        )
        let message: OutboundMessage
        switch kind {
        case .signIn:
            message = OutboundMessage(
                to: phone,
                body:
                    "【Kith】验证码 \(pending.code)，10 分钟内有效。请勿告诉他人。Your Kith code is \(pending.code); valid for 10 minutes.",
                kind: .verification,
                evidence: pending.evidence
            )
        case .numberOptOut:
            message = OutboundMessage(
                to: phone,
                body: "【Kith】号码屏蔽验证码 \(pending.code)，10 分钟内有效。Your Kith opt-out code is \(pending.code).",
                kind: .numberOptOut,
                evidence: pending.evidence
            )
        }
        try await messages.send(message)
        return VerificationStarted(verificationId: pending.id, expiresIn: pending.expiresIn)
    }
}
