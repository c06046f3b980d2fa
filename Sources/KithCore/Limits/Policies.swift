/// The rules of phone verification (ACC-04, ACC-05, ACC-12).
public struct VerificationPolicy: Sendable {
    /// Digits in a code.
    public var codeLength = 6
    /// How long a code is valid, in seconds.
    public var codeLifetime = 600
    /// Guesses allowed per code; the next one is refused and the code is spent.
    public var maxAttempts = 5
    /// How long a session lasts, in seconds.
    public var sessionLifetime = 30 * 24 * 3600

    public init() {}
}

/// A token bucket: `burst` requests at once, refilled at `perSecond`.
public struct RateLimit: Sendable, Equatable {
    public var burst: Double
    public var perSecond: Double

    public init(burst: Double, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
    }

    public static func perHour(_ count: Double, burst: Double) -> RateLimit {
        RateLimit(burst: burst, perSecond: count / 3600)
    }

    public static func perDay(_ count: Double, burst: Double) -> RateLimit {
        RateLimit(burst: burst, perSecond: count / 86400)
    }

    /// Takes `cost` tokens from a bucket that held `tokens` at `updatedAt`.
    ///
    /// - Returns: the new token count, or the seconds to wait when there are not enough tokens.
    public func take(
        cost: Double,
        tokens: Double?,
        updatedAt: Double?,
        now: Double
    ) -> Result<Double, RetryAfter> {
        let elapsed = max(0, now - (updatedAt ?? now))
        let available = min(burst, (tokens ?? burst) + elapsed * perSecond)
        if available >= cost { return .success(available - cost) }
        let wait = perSecond > 0 ? ((cost - available) / perSecond).rounded(.up) : 86400
        return .failure(RetryAfter(seconds: max(1, Int(wait))))
    }

    public struct RetryAfter: Error, Sendable, Equatable {
        public var seconds: Int
        public init(seconds: Int) { self.seconds = seconds }
    }
}

/// The rate limits Kith applies by default.
public struct RateLimitPolicy: Sendable {
    /// Codes sent to one number (blind-indexed): one a minute at most, five an hour.
    public var codesPerNumber = RateLimit.perHour(5, burst: 3)
    /// Codes requested from one client address.
    public var codesPerAddress = RateLimit.perHour(30, burst: 10)
    /// Code guesses from one client address, across all verifications.
    public var verifyPerAddress = RateLimit.perHour(120, burst: 30)
    /// Contact uploads from one client address, new numbers or re-checks (CON-07).
    public var discoveryUploadsPerAddress = RateLimit.perHour(600, burst: 60)

    public init() {}
}
