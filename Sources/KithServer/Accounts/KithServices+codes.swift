import KithCore
import KithStore
import Prometheus

extension KithServices {
    /// Sends a one-time code to a number the caller gave: parse, then let the code limits decide (per
    /// client address and network, per number, the pumping guard: ``CodeSendingPolicy``), log the act
    /// and send with its evidence (GEN-08, ACC-12, MSG-04). Shared by sign-in and by a non-user's number
    /// opt-out (CON-08).
    ///
    /// - Throws: every refusal as the same 429 problem with `Retry-After`, whatever the reason; the reason
    ///   goes to `kith_codes_refused_total` only.
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
        let pending: PendingVerification
        do {
            pending = try await accounts.startVerification(
                phone: phone,
                kind: kind,
                requester: CodeRequester(context),
                initiation: context.initiation(operation)
            )
        } catch let refusal as CodeRefusal {
            metrics.makeCounter(descriptor: CodeMetrics.refused, labels: [("limit", refusal.limit)]).increment()
            if refusal.trippedGuard { metrics.makeCounter(descriptor: CodeMetrics.rangesBlocked).increment() }
            throw refusal.problem
        }
        if let message = pending.message { try await messages.send(message) }
        return VerificationStarted(verificationId: pending.id, expiresIn: pending.expiresIn)
    }
}

/// The operator's view of the code limits (GEN-08): counts by rule, never a number or an address.
enum CodeMetrics {
    /// `kith_codes_refused_total{limit}`.
    static var refused: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "codes",
            metricName: "refused",
            unitName: "total",
            helpText: "One-time codes not sent, by the rule that refused: otp-ip, otp-network, otp-number, otp-range."
        )
    }
    /// `kith_codes_ranges_blocked_total`: ranges this node's requests made the pumping guard stop.
    static var rangesBlocked: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "codes",
            metricName: "ranges_blocked",
            unitName: "total",
            helpText: "Number ranges the pumping guard stopped codes to, tripped by requests to this node."
        )
    }
    /// `kith_codes_blocked_ranges`: ranges receiving no code now, read from the store at each scrape.
    static var blockedRanges: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "codes",
            metricName: "blocked_ranges",
            helpText: "Number ranges that receive no code now (any node's guard), read from the store."
        )
    }
}
