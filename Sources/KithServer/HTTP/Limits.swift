import KithCore
import KithStore
import Prometheus

extension KithServices {
    /// Takes one read of people's data by the signed-in `reader` from the read throttle (GEN-05): `subject`
    /// is the person whose data is read, `nil` for the reader's own lists (suggestions, the second degree).
    ///
    /// - Throws: the same 429 problem as every other limit (``refused(_:)``).
    func throttleRead(
        by reader: UserID,
        of subject: UserID?,
        context: KithRequestContext,
        operation: String
    ) async throws {
        guard let reads else { return }
        do {
            try await reads.take(reader, reading: subject, initiation: context.initiation(operation))
        } catch let refusal as LimitRefusal {
            throw refused(refusal)
        }
    }

    /// Code guesses from the client's address, across every kind of verification (ACC-12).
    func limitCodeGuesses(_ context: KithRequestContext, operation: String) async throws {
        try await RateLimiter(store: store).take(
            "verify-ip:" + store.vault.keyedDigest("ip", context.clientAddress),
            limit: rateLimits.verifyPerAddress,
            initiation: context.initiation(operation)
        )
    }

    /// The answer to a refusal by any limit: one 429 with `Retry-After`, whatever the rule; the rule is
    /// counted in `kith_limits_refused_total`, a tripped guard in `kith_limits_tripped_total`.
    func refused(_ refusal: LimitRefusal) -> KithError {
        metrics.makeCounter(descriptor: LimitMetrics.refused, labels: [("limit", refusal.limit)]).increment()
        if refusal.trippedGuard {
            metrics.makeCounter(descriptor: LimitMetrics.tripped, labels: [("guard", refusal.limit)]).increment()
        }
        return refusal.problem
    }
}

/// The operator's view of the limits (GEN-05, GEN-08): counts by rule, never a number, an address or a person.
enum LimitMetrics {
    /// `kith_limits_refused_total{limit}`.
    static var refused: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "limits",
            metricName: "refused",
            unitName: "total",
            helpText: "Requests refused by a limit, by rule: otp-ip, otp-network, otp-number, otp-range, reads, "
                + "bulk-reading."
        )
    }

    /// `kith_limits_tripped_total{guard}`: guards this node's requests tripped.
    static var tripped: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "limits",
            metricName: "tripped",
            unitName: "total",
            helpText: "Guards tripped by requests to this node: otp-range (pumping), bulk-reading (scraping)."
        )
    }

    /// `kith_codes_blocked_ranges`: read from the store at each scrape.
    static var blockedRanges: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "codes",
            metricName: "blocked_ranges",
            helpText: "Number ranges that receive no code now (any node's guard), read from the store."
        )
    }

    /// `kith_data_requests_overdue`: open data requests past their deadline (DSR-02), read at each scrape.
    static var overdueRequests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "data_requests",
            metricName: "overdue",
            helpText: "Open data requests past their deadline of 15 working days (DSR-02), read from the store."
        )
    }

    /// `kith_reads_blocked_readers`: read from the store at each scrape.
    static var blockedReaders: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "reads",
            metricName: "blocked_readers",
            helpText: "People whose reads the bulk-read detector stopped now (any node's), read from the store."
        )
    }
}
