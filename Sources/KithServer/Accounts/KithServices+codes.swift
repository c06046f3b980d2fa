import KithCore
import KithStore

extension KithServices {
    /// Sends a one-time code to a number the caller gave: parse (a mobile number only, refused before any
    /// limit is charged or anything sent: ACC-12), then let the code limits decide (per
    /// client address and network, per number, the pumping guard: ``CodeSendingPolicy``), log the act
    /// and send with its evidence (GEN-08, ACC-12, MSG-04). Shared by sign-in and by a non-user's number
    /// opt-out (CON-08).
    ///
    /// - Throws: every refusal as the same 429 problem with `Retry-After`, whatever the reason; the reason
    ///   goes to `kith_limits_refused_total` only.
    func sendCode(
        to text: String,
        kind: VerificationKind,
        for user: UserID? = nil,
        context: KithRequestContext,
        operation: String
    ) async throws -> VerificationStarted {
        let phone: PhoneNumber
        switch PhoneNumber.parseMobile(text, defaultRegion: defaultRegion) {
        case .success(let parsed): phone = parsed
        case .failure(let failure):
            throw KithError.invalid("phone", "This is not a phone number we can send a code to (\(failure.rawValue)).")
        }
        return try await deliverCode {
            try await accounts.startVerification(
                phone: phone,
                kind: kind,
                for: user,
                requester: CodeRequester(context),
                initiation: context.initiation(operation)
            )
        }
    }

    /// Issues a code with `issue` and sends its message: every limit's refusal as the one 429 problem.
    func deliverCode(_ issue: () async throws -> PendingVerification) async throws -> VerificationStarted {
        let pending: PendingVerification
        do {
            pending = try await issue()
        } catch let refusal as LimitRefusal {
            throw refused(refusal)
        }
        if let message = pending.message { try await messages.send(message) }
        return VerificationStarted(verificationId: pending.id, expiresIn: pending.expiresIn)
    }
}
