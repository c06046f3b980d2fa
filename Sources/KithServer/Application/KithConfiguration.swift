import Configuration
import Foundation
import KithCore
import KithStore
import Logging
import SystemPackage

/// Everything `kith` reads from its configuration: flags, `KITH_*` environment variables, an optional
/// `.env` file, in that order of precedence.
///
/// - Configuration keys:
///   - `kith.host` (string, optional, default: `127.0.0.1`): address to listen on (`KITH_HOST`).
///   - `kith.port` (int, optional, default: `8080`): port to listen on (`KITH_PORT`).
///   - `kith.database.url` (string, optional, default: `sqlite://./kith.sqlite`): the store; a
///     `postgres://user:password@host:port/db` URL selects PostgreSQL (`KITH_DATABASE_URL`). **Secret**
///     when it carries a password.
///   - `kith.sms.outbox` (string, optional, default: `./kith-outbox.jsonl`): the development SMS
///     gateway's file, one JSON object per message (`KITH_SMS_OUTBOX`).
///   - `kith.key.file` (string, optional, default: `./kith.keys`): development key file, generated on
///     first start with a warning when the three keys below are not configured (`KITH_KEY_FILE`).
///   - `kith.encryption.key` (string, optional): 32 random bytes, base64; AES-256-GCM key for phone
///     numbers at rest (`KITH_ENCRYPTION_KEY`). **Secret.**
///   - `kith.blind.index.key` (string, optional): 32 random bytes, base64; HMAC key of the phone
///     blind index (`KITH_BLIND_INDEX_KEY`). **Secret.**
///   - `kith.log.signing.key` (string, optional): 32 bytes, base64; Ed25519 key signing the
///     processing log's tree heads (`KITH_LOG_SIGNING_KEY`). **Secret.**
///   - `kith.default.region` (string, optional, default: `CN`): region for phone numbers written in
///     national form (`KITH_DEFAULT_REGION`).
///   - `kith.max.body.bytes` (int, optional, default: `65536`): largest request body accepted
///     (`KITH_MAX_BODY_BYTES`).
///   - `kith.log.level` (string, optional, default: `info`): `trace` … `critical` (`KITH_LOG_LEVEL`).
///   - `kith.tls.certificate` (string, optional): PEM file of the certificate chain; with
///     `kith.tls.key`, the server speaks HTTPS only and sends HSTS (CON-07, `KITH_TLS_CERTIFICATE`).
///   - `kith.tls.key` (string, optional): PEM file of the private key (`KITH_TLS_KEY`). **Secret.**
///   - `kith.allow.plain.http` (bool, optional, default: `false`): serve plain HTTP on an address other
///     than loopback, for a TLS-terminating proxy in front (`KITH_ALLOW_PLAIN_HTTP`); without it such a
///     server refuses to start (CON-07).
///   - `kith.trusted.proxies` (string, optional): comma-separated CIDR blocks of the reverse proxies in
///     front of Kith; from those peers only, the client is read from `Forwarded` or `X-Forwarded-For`
///     (GEN-05, `KITH_TRUSTED_PROXIES`). Without it every client is its TCP peer.
///   - `kith.forwarded.header` (string, optional, default: `X-Forwarded-For`): the one header the trusted
///     proxies write, `X-Forwarded-For` or `Forwarded`; the other is never read (`KITH_FORWARDED_HEADER`).
///   - `kith.codes.*` (ints, optional): when a one-time code may be sent (GEN-08; defaults in
///     ``CodeSendingPolicy``): `per.number.hour` (3), `per.number.day` (6), `backoff.seconds` (30),
///     `per.address.hour` (10), `per.network.hour` (30), `suppressed.per.day` (1), `pumping.numbers` (8),
///     `pumping.networks` (2), `pumping.window.seconds` (3600, at most 86400), `pumping.block.seconds`
///     (86400) (`KITH_CODES_PER_NUMBER_HOUR`, …).
///   - `kith.recycled.after.days` (int, optional, default: `180`): days without a session after which a
///     number's next sign-in opens a new, empty account and freezes the old one, unless it has a
///     registration lock (ACC-12, DSR-03; `KITH_RECYCLED_AFTER_DAYS`).
///   - `kith.deletion.grace.working.days` (int, optional, default: `0`): working days between a person's
///     `deleteMyAccount` and the erasure, the account deactivated meanwhile; 0 to 15 (DSR-04, ACC-10;
///     `KITH_DELETION_GRACE_WORKING_DAYS`).
///   - `kith.holidays` (string, optional): public holidays as comma-separated `YYYY-MM-DD` dates, which the
///     working-day deadlines of deletions and data requests do not count (DSR-02; `KITH_HOLIDAYS`).
///   - `kith.frozen.retention.days` (int, optional, default: `30`): days a frozen account (its number
///     recycled) is kept before it is erased (ACC-12; `KITH_FROZEN_RETENTION_DAYS`).
///   - `kith.reads.*` (ints, optional): how much of other people's data one person may read (GEN-05;
///     defaults in ``ReadThrottlePolicy``): `per.hour` (1200, burst a tenth), `distinct.people.hour`
///     (300), `block.seconds` (3600) (`KITH_READS_PER_HOUR`, …).
///   - `kith.retention.sweep.seconds` (int, optional, default: `600`): seconds between two sweeps of
///     the data past its retention in the data inventory (SEC-05); at least 1
///     (`KITH_RETENTION_SWEEP_SECONDS`).
public struct KithConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var databaseURL = "sqlite://./kith.sqlite"
    public var smsOutbox = "./kith-outbox.jsonl"
    public var keyFile = "./kith.keys"
    public var encryptionKey: String?
    public var blindIndexKey: String?
    public var logSigningKey: String?
    public var defaultRegion = PhoneNumber.Region.cn
    public var maxBodyBytes = 65_536
    public var logLevel = Logger.Level.info
    public var retentionSweepSeconds = 600
    /// The certificate chain and key files, when the server speaks HTTPS (CON-07).
    public var tls: (certificate: String, key: String)?
    public var allowPlainHTTP = false
    /// The reverse proxies whose forwarding headers are believed (GEN-05), as CIDR blocks.
    public var trustedProxies: [String] = []
    /// Whether the trusted proxies write `Forwarded` (RFC 7239) rather than `X-Forwarded-For`.
    public var proxiesWriteForwarded = false
    /// When a one-time code may be sent (GEN-08).
    public var codes = CodeSendingPolicy()
    /// How much of other people's data a person may read (GEN-05).
    public var reads = ReadThrottlePolicy()
    /// Codes, sessions, registration locks and recycled numbers (ACC-12).
    public var verification = VerificationPolicy()
    /// When deleted and frozen accounts are erased (DSR-04, ACC-10, ACC-12).
    public var deletion = DeletionPolicy()
    /// Deadlines of requests that need a person (DSR-02).
    public var dataRequests = DataRequestPolicy()
    /// Invitations (`kith.invitation.sms`, `kith.invitation.link.base`, `kith.invitations.per.day`).
    public var invitations = InvitationPolicy()
    /// Marketing (`kith.marketing.min.days`).
    public var marketing = MarketingPolicy()
    /// The SMS provider's secret for signed inbound messages (`kith.inbound.message.secret`).
    public var inboundMessageSecret: String?

    public init() {}

    public init(reader: ConfigReader) throws {
        let kith = reader.scoped(to: "kith")
        host = kith.string(forKey: "host", default: host)
        port = kith.int(forKey: "port", default: port)
        databaseURL = kith.string(forKey: "database.url", isSecret: true, default: databaseURL)
        smsOutbox = kith.string(forKey: "sms.outbox", default: smsOutbox)
        keyFile = kith.string(forKey: "key.file", default: keyFile)
        encryptionKey = kith.string(forKey: "encryption.key", isSecret: true)
        blindIndexKey = kith.string(forKey: "blind.index.key", isSecret: true)
        logSigningKey = kith.string(forKey: "log.signing.key", isSecret: true)
        let region = kith.string(forKey: "default.region", default: "CN")
        guard let parsedRegion = PhoneNumber.Region(code: region) else {
            throw KithError.invalid(
                "KITH_DEFAULT_REGION",
                "Use an ISO 3166 region code libphonenumber \(PhoneNumber.metadataRelease) knows (CN, MO, JP, …)."
            )
        }
        defaultRegion = parsedRegion
        maxBodyBytes = kith.int(forKey: "max.body.bytes", default: maxBodyBytes)
        let level = kith.string(forKey: "log.level", default: "info")
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw KithError.invalid("KITH_LOG_LEVEL", "Use trace, debug, info, notice, warning, error or critical.")
        }
        logLevel = parsedLevel
        switch (kith.string(forKey: "tls.certificate"), kith.string(forKey: "tls.key", isSecret: true)) {
        case (let certificate?, let key?): tls = (certificate, key)
        case (nil, nil): tls = nil
        case (nil, _?): throw KithError.invalid("KITH_TLS_CERTIFICATE", "Set it with KITH_TLS_KEY, or neither.")
        case (_?, nil): throw KithError.invalid("KITH_TLS_KEY", "Set it with KITH_TLS_CERTIFICATE, or neither.")
        }
        allowPlainHTTP = kith.bool(forKey: "allow.plain.http", default: false)
        guard tls != nil || allowPlainHTTP || Self.isLoopback(host) else {
            throw KithError.invalid(
                "KITH_HOST",
                "Plain HTTP is served on loopback only (CON-07): set KITH_TLS_CERTIFICATE and KITH_TLS_KEY, "
                    + "or KITH_ALLOW_PLAIN_HTTP=true behind a proxy that terminates TLS."
            )
        }
        trustedProxies = (kith.string(forKey: "trusted.proxies") ?? "").split(separator: ",")
            .map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        if trustedProxies.contains(where: { IPNetwork($0) == nil }) {
            throw KithError.invalid(
                "KITH_TRUSTED_PROXIES",
                "Use comma-separated CIDR blocks or addresses, such as 10.0.0.0/8,fd00::/8."
            )
        }
        switch kith.string(forKey: "forwarded.header", default: "X-Forwarded-For").lowercased() {
        case "x-forwarded-for": proxiesWriteForwarded = false
        case "forwarded": proxiesWriteForwarded = true
        default: throw KithError.invalid("KITH_FORWARDED_HEADER", "Use X-Forwarded-For or Forwarded.")
        }
        codes = try Self.codes(kith.scoped(to: "codes"))
        reads = try Self.reads(kith.scoped(to: "reads"))
        try Self.read(
            kith.scoped(to: "recycled"),
            "recycled",
            "after.days",
            &verification.recycledAfterDays,
            atMost: 3650
        )
        let holidays = (kith.string(forKey: "holidays") ?? "").split(separator: ",")
            .map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        guard let calendar = WorkingCalendar(dates: holidays) else {
            throw KithError.invalid("KITH_HOLIDAYS", "Use comma-separated dates such as 2026-10-01,2026-10-02.")
        }
        deletion.calendar = calendar
        dataRequests.calendar = calendar
        deletion.graceWorkingDays = kith.int(forKey: "deletion.grace.working.days", default: 0)
        guard (0...15).contains(deletion.graceWorkingDays) else {
            throw KithError.invalid(
                "KITH_DELETION_GRACE_WORKING_DAYS",
                "Use a whole number of working days from 0 to 15."
            )
        }
        try Self.read(
            kith.scoped(to: "frozen"),
            "frozen",
            "retention.days",
            &deletion.frozenRetentionDays,
            atMost: 3650
        )
        invitations.sms = kith.bool(forKey: "invitation.sms", default: invitations.sms)
        invitations.linkBase = kith.string(forKey: "invitation.link.base", default: invitations.linkBase)
        guard let link = URL(string: invitations.linkBase), link.scheme == "https", link.host != nil,
            invitations.linkBase.hasSuffix("/") || invitations.linkBase.hasSuffix("=")
        else {
            throw KithError.invalid(
                "KITH_INVITATION_LINK_BASE",
                "Use an https URL ending in / or =, such as https://kith.example/i/."
            )
        }
        var perDay = 20
        try Self.read(kith.scoped(to: "invitations"), "invitations", "per.day", &perDay, atMost: 1000)
        invitations.perInviter = .perDay(Double(perDay), burst: Double(perDay))
        inboundMessageSecret = kith.string(forKey: "inbound.message.secret", isSecret: true)
        try Self.read(kith.scoped(to: "marketing"), "marketing", "min.days", &marketing.minDaysBetween, atMost: 365)
        retentionSweepSeconds = kith.int(forKey: "retention.sweep.seconds", default: retentionSweepSeconds)
        guard retentionSweepSeconds >= 1 else {
            throw KithError.invalid("KITH_RETENTION_SWEEP_SECONDS", "Use a whole number of seconds, at least 1.")
        }
    }

    /// The code limits (`kith.codes.*`); every figure at least 1.
    static func codes(_ reader: ConfigReader) throws -> CodeSendingPolicy {
        var codes = CodeSendingPolicy()
        func read(_ key: String, _ value: inout Int, atMost: Int = .max) throws {
            try Self.read(reader, "codes", key, &value, atMost: atMost)
        }
        try read("per.number.hour", &codes.perNumberPerHour)
        try read("per.number.day", &codes.perNumberPerDay)
        try read("backoff.seconds", &codes.backoffSeconds, atMost: 3_600)
        try read("suppressed.per.day", &codes.suppressedPerDay)
        var perAddress = 10
        var perNetwork = 30
        try read("per.address.hour", &perAddress)
        try read("per.network.hour", &perNetwork)
        codes.perAddress = .perHour(Double(perAddress), burst: Double(max(1, perAddress / 2)))
        codes.perNetwork = .perHour(Double(perNetwork), burst: Double(max(1, perNetwork / 2)))
        try read("pumping.numbers", &codes.pumping.distinctNumbers)
        try read("pumping.networks", &codes.pumping.maxNetworks)
        try read("pumping.window.seconds", &codes.pumping.windowSeconds, atMost: CodeSendingPolicy.memorySeconds)
        try read("pumping.block.seconds", &codes.pumping.blockSeconds)
        return codes
    }

    /// The read throttle (`kith.reads.*`); every figure at least 1.
    static func reads(_ reader: ConfigReader) throws -> ReadThrottlePolicy {
        var reads = ReadThrottlePolicy()
        var perHour = 1200
        try read(reader, "reads", "per.hour", &perHour)
        reads.perUser = .perHour(Double(perHour), burst: Double(max(1, perHour / 10)))
        try read(reader, "reads", "distinct.people.hour", &reads.distinctPeoplePerHour)
        try read(reader, "reads", "block.seconds", &reads.blockSeconds)
        return reads
    }

    /// Reads `prefix.key` as a whole number from 1 to `atMost`, or throws naming its environment variable.
    static func read(
        _ reader: ConfigReader,
        _ prefix: String,
        _ key: String,
        _ value: inout Int,
        atMost: Int = .max
    )
        throws
    {
        value = reader.int(forKey: ConfigKey(key.split(separator: ".").map(String.init)), default: value)
        guard (1...atMost).contains(value) else {
            let name = "KITH_\(prefix)_\(key)".uppercased().map { $0 == "." ? "_" : $0 }
            throw KithError.invalid(String(name), "Use a whole number from 1 to \(atMost).")
        }
    }

    /// Whether `host` is a loopback address or name, where plain HTTP never leaves the machine.
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        let ipv4Loopback = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        return host == "localhost" || host == "::1" || host == "[::1]" || ipv4Loopback
    }

    /// The reader `kith` uses: command-line values first, then the environment, then `.env`.
    ///
    /// - Parameter overrides: command-line values by key, typed as the key is read (`kith.port` is an
    ///   `.int`: a string there would be ignored for the default).
    public static func reader(overrides: [String: ConfigContent] = [:]) async throws -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in overrides {
            values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = .init(value, isSecret: false)
        }
        return ConfigReader(providers: [
            InMemoryProvider(name: "arguments", values: values),
            EnvironmentVariablesProvider(),
            try await EnvironmentVariablesProvider(environmentFilePath: ".env", allowMissing: true),
        ])
    }

    /// The store keys: from configuration when all three are set, else the development key file.
    public func keys(logger: Logger) throws -> KithKeys {
        if let encryptionKey, let blindIndexKey, let logSigningKey {
            return try KithKeys(
                encryptionBase64: encryptionKey,
                blindIndexBase64: blindIndexKey,
                logSigningBase64: logSigningKey
            )
        }
        return try KithKeys.loadOrCreate(keyFile: keyFile, logger: logger)
    }
}
