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
    /// Days without a session after which a number's next sign-in opens a new, empty account and freezes
    /// the old one, unless it has a registration lock: the carrier has probably reassigned the number
    /// (ACC-12, DSR-03; `kith.recycled.after.days`).
    public var recycledAfterDays = 180
    /// Registration-lock PINs tried per account (after a right code): five a day.
    public var lockGuesses = RateLimit.perDay(5, burst: 5)

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
    /// Code guesses from one client address, across all verifications.
    public var verifyPerAddress = RateLimit.perHour(120, burst: 30)
    /// Contact uploads from one client address, new numbers or re-checks (CON-07).
    public var discoveryUploadsPerAddress = RateLimit.perHour(600, burst: 60)

    public init() {}
}

/// When Kith sends a one-time code to a number someone typed (GEN-08, ACC-12, CON-08; issue 15 §1).
///
/// Whoever asks is an unknown party, never presumed to be the number's holder: every rule below limits
/// what a stranger can make Kith send to a number, or to a range of numbers (SMS pumping, CC 1033). The
/// figures are a person's realistic needs with room to spare: a code lives 10 minutes and a person who
/// lost one asks again once or twice.
public struct CodeSendingPolicy: Sendable, Equatable {
    /// Codes to one number in any hour, across every kind (`kith.codes.per.number.hour`).
    public var perNumberPerHour = 3
    /// Codes to one number in any 24 hours, across every kind (`kith.codes.per.number.day`).
    public var perNumberPerDay = 6
    /// The wait after a number's first code of the day before the next; it doubles with each further
    /// code of the day (30 s, 60 s, 120 s, …) (`kith.codes.backoff.seconds`).
    public var backoffSeconds = 30
    /// Codes requested from one client address (`kith.codes.per.address.hour`; burst half of it).
    public var perAddress = RateLimit.perHour(10, burst: 5)
    /// Codes requested from one client network: an IPv4 /24 or an IPv6 /56, what one household, office or
    /// mobile gateway shares (`kith.codes.per.network.hour`; burst half of it).
    public var perNetwork = RateLimit.perHour(30, burst: 15)
    /// A number that opted out of Kith (CON-08) receives at most this many codes a day, sign-in codes only
    /// (`kith.codes.suppressed.per.day`).
    public var suppressedPerDay = 1
    /// The pumping guard (`kith.codes.pumping.*`).
    public var pumping = PumpingGuard()

    public init() {}

    /// The pumping guard: many different numbers of one number range, asked for by few client networks
    /// within `windowSeconds`, stop all codes to that range for `blockSeconds`.
    public struct PumpingGuard: Sendable, Equatable {
        /// Digits dropped from the end of a number to name its range: 4 makes a range of 10,000 numbers
        /// (`+86 147 3700 ****`), a block a carrier assigns together.
        public var rangeDigits = 4
        /// Distinct numbers of one range that trip the guard (`kith.codes.pumping.numbers`).
        public var distinctNumbers = 8
        /// …when they came from at most this many client networks (`kith.codes.pumping.networks`).
        public var maxNetworks = 2
        /// The window the guard looks back over, in seconds; at most a day (`kith.codes.pumping.window.seconds`).
        public var windowSeconds = 3600
        /// How long a tripped range receives no code (`kith.codes.pumping.block.seconds`).
        public var blockSeconds = 86_400

        public init() {}
    }

    /// Per-client limits and a pumping guard that one client signing in thousands of consecutive numbers
    /// never reaches, and no back-off; the per-number counts as they are: for benchmarks and tests that
    /// seed people through the real sign-in, never for a server.
    public static var seeding: CodeSendingPolicy {
        var policy = CodeSendingPolicy()
        policy.perAddress = RateLimit(burst: 1e12, perSecond: 0)
        policy.perNetwork = RateLimit(burst: 1e12, perSecond: 0)
        policy.pumping.distinctNumbers = .max
        policy.backoffSeconds = 0
        return policy
    }

    /// How long a sent code is remembered for these rules: the longest window any of them reads.
    public static let memorySeconds = 86_400

    /// The wait, in seconds after its last code, before the next code to a number that received
    /// `sentToday` codes in the last 24 hours.
    public func backoff(sentToday: Int) -> Int {
        sentToday == 0 ? 0 : backoffSeconds << min(sentToday - 1, 20)
    }
}

/// How much of other people's data one signed-in person may read (GEN-05, Weibo v. Maimai; issue 15 §4):
/// profiles, connection lists, the second degree, suggestions and their explanations.
///
/// A person browsing reads a few dozen profiles in a sitting; a scraper reads thousands an hour. The
/// bucket lets a busy person through (120 at once, 1,200 an hour); the detector stops whoever reads more
/// different people in an hour than anyone browsing does.
public struct ReadThrottlePolicy: Sendable, Equatable {
    /// Reads per person, every kind together (`kith.reads.per.hour`; burst a tenth of it).
    public var perUser = RateLimit.perHour(1200, burst: 120)
    /// Different people one person may read within an hour (`kith.reads.distinct.people.hour`).
    public var distinctPeoplePerHour = 300
    /// How long the reads of a person the detector stopped stay stopped (`kith.reads.block.seconds`).
    public var blockSeconds = 3600

    public init() {}

    /// A bucket no benchmark client reaches and no detector: for measuring the throttle's own cost.
    public static var unreachable: ReadThrottlePolicy {
        var policy = ReadThrottlePolicy()
        policy.perUser = RateLimit(burst: 1e12, perSecond: 0)
        policy.distinctPeoplePerHour = .max
        return policy
    }
}

/// Working days for the deadlines of data rights (DSR-02, ACC-10): Monday to Friday (UTC), less the
/// configured public holidays (`KITH_HOLIDAYS`, dates as `2026-10-01`).
public struct WorkingCalendar: Sendable, Equatable {
    /// Holidays as days since 1970-01-01 (UTC).
    public var holidays: Set<Int64>

    public init(holidays: Set<Int64> = []) { self.holidays = holidays }

    /// Parses `YYYY-MM-DD` dates; `nil` when one is not a date.
    public init?(dates: [String]) {
        var days = Set<Int64>()
        for date in dates {
            let parts = date.split(separator: "-").compactMap { Int64($0) }
            guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
            days.insert(Self.daysSinceEpoch(year: parts[0], month: parts[1], day: parts[2]))
        }
        holidays = days
    }

    /// The instant `days` working days after `start` (Unix milliseconds).
    public func adding(_ days: Int, to start: Int64) -> Int64 {
        let day: Int64 = 86_400_000
        var at = start
        var left = days
        while left > 0 {
            at += day
            if isWorkingDay(at / day) { left -= 1 }
        }
        return at
    }

    func isWorkingDay(_ days: Int64) -> Bool {
        // 1970-01-01 was a Thursday: (days + 3) % 7 is 0 on Monday … 6 on Sunday.
        ((days + 3) % 7) < 5 && !holidays.contains(days)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// When an account asked to be deleted, or frozen for a recycled number, is erased (DSR-04, ACC-10, ACC-12).
public struct DeletionPolicy: Sendable, Equatable {
    /// Working days between the request and the erasure; during them the account is deactivated. 0, the
    /// default, erases at once; at most 15 (ACC-10: done within 15 working days).
    public var graceWorkingDays = 0
    /// Days a frozen account (its number signed in again after ``VerificationPolicy/recycledAfterDays``)
    /// is kept before it is erased: long enough for its holder to show it was theirs, then gone.
    public var frozenRetentionDays = 30
    /// Weekends and holidays, which the grace period does not count.
    public var calendar = WorkingCalendar()

    public init(graceWorkingDays: Int = 0, frozenRetentionDays: Int = 30, calendar: WorkingCalendar = WorkingCalendar())
    {
        self.graceWorkingDays = graceWorkingDays
        self.frozenRetentionDays = frozenRetentionDays
        self.calendar = calendar
    }

    /// The erasure time for a request at `requested` (Unix milliseconds): `graceWorkingDays` working days later.
    public func eraseAfter(requestedAt requested: Int64) -> Int64 {
        calendar.adding(graceWorkingDays, to: requested)
    }
}

/// Requests that need a person (DSR-02, DSR-06..08): answered within `deadlineWorkingDays`.
public struct DataRequestPolicy: Sendable, Equatable {
    /// Working days to answer (DSR-02: 15).
    public var deadlineWorkingDays = 15
    public var calendar = WorkingCalendar()
    /// Requests one person may submit: ten a day, so no one floods the staff's queue.
    public var perPerson = RateLimit.perDay(10, burst: 10)

    public init(deadlineWorkingDays: Int = 15, calendar: WorkingCalendar = WorkingCalendar()) {
        self.deadlineWorkingDays = deadlineWorkingDays
        self.calendar = calendar
    }
}

/// Invitations (MSG-02, MSG-05; issue 13 §1, §3).
public struct InvitationPolicy: Sendable, Equatable {
    /// Invitations one person may send in a day (`kith.invitations.per.day`).
    public var perInviter = RateLimit.perDay(20, burst: 20)
    /// Days in which a number gets at most one invitation, from anyone (MSG-05).
    public var perRecipientDays = 30
    /// Seconds a preview's token may be sent.
    public var previewLifetime = 900
    /// Whether Kith may text invitations itself (`kith.invitation.sms`); off, invitations go from the
    /// inviter's own phone (MSG-02).
    public var sms = false
    /// Where an invitation's link points: the code is appended (`kith.invitation.link.base`).
    public var linkBase = "https://kith.example/i/"

    public init() {}
}

/// Marketing (MSG-06..08; issue 13 §4).
public struct MarketingPolicy: Sendable, Equatable {
    /// Days between two marketing messages to one person (`kith.marketing.min.days`).
    public var minDaysBetween = 7

    public init() {}
}
