import Configuration
import KithCore
import KithServer
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    static func configuration(_ values: [String: ConfigContent]) async throws -> KithConfiguration {
        try KithConfiguration(reader: try await KithConfiguration.reader(overrides: values))
    }

    @Test("command-line values override the defaults, typed as each key is read")
    func flagsOverride() async throws {
        let configuration = try await Self.configuration([
            "kith.port": .int(18_555), "kith.host": .string("0.0.0.0"), "kith.key.file": .string("/k"),
            "kith.allow.plain.http": .bool(true),
        ])
        #expect(configuration.port == 18_555, "kith serve --port was ignored for the default")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.keyFile == "/k")
    }

    @Test("ACC-12 every region of libphonenumber's metadata can be KITH_DEFAULT_REGION; anything else is refused")
    func everyDefaultRegion() async throws {
        #expect(PhoneNumber.Region.all.count >= 245)
        for region in PhoneNumber.Region.all {
            let configuration = try await Self.configuration(["kith.default.region": .string(region.code)])
            #expect(configuration.defaultRegion == region, "\(region.code)")
        }
        #expect(try await Self.configuration([:]).defaultRegion == .cn)
        for code in ["XX", "", "001", "CHN", "C N"] {
            let error = await #expect(throws: KithError.self, "\(code)") {
                try await Self.configuration(["kith.default.region": .string(code)])
            }
            #expect(error?.field == "KITH_DEFAULT_REGION")
        }
    }

    @Test("CON-07 plain HTTP is served on loopback only, unless a TLS-terminating proxy is declared")
    func plainHTTPOnLoopback() async throws {
        for host in ["127.0.0.1", "127.3.2.1", "localhost", "::1"] {
            #expect(try await Self.configuration(["kith.host": .string(host)]).tls == nil, "\(host)")
        }
        for host in ["0.0.0.0", "10.0.0.5", "127.evil.example", "127.x.0.0.1", "::"] {
            let error = await #expect(throws: KithError.self, "\(host)") {
                try await Self.configuration(["kith.host": .string(host)])
            }
            #expect(error?.field == "KITH_HOST")
        }
        let proxied = try await Self.configuration([
            "kith.host": .string("0.0.0.0"), "kith.allow.plain.http": .bool(true),
        ])
        #expect(proxied.allowPlainHTTP)
        let tls = try await Self.configuration([
            "kith.host": .string("0.0.0.0"), "kith.tls.certificate": .string("/c.pem"),
            "kith.tls.key": .string("/k.pem"),
        ])
        #expect(tls.tls?.certificate == "/c.pem" && tls.tls?.key == "/k.pem")
    }

    @Test("CON-07 a certificate and its key are configured together")
    func certificateAndKey() async throws {
        let noKey = await #expect(throws: KithError.self) {
            try await Self.configuration(["kith.tls.certificate": .string("/c.pem")])
        }
        #expect(noKey?.field == "KITH_TLS_KEY")
        let noCertificate = await #expect(throws: KithError.self) {
            try await Self.configuration(["kith.tls.key": .string("/k.pem")])
        }
        #expect(noCertificate?.field == "KITH_TLS_CERTIFICATE")
    }

    @Test(
        "GEN-05 GEN-08 ACC-12 trusted proxies, the code and read limits and recycling are read from configuration, and checked"
    )
    func proxiesAndCodeLimits() async throws {
        let configured = try await Self.configuration([
            "kith.trusted.proxies": .string(" 10.0.0.0/8, fd00::/8 "),
            "kith.codes.per.number.hour": .int(2),
            "kith.codes.per.address.hour": .int(20),
            "kith.codes.pumping.numbers": .int(50),
        ])
        #expect(configured.trustedProxies == ["10.0.0.0/8", "fd00::/8"])
        #expect(configured.codes.perNumberPerHour == 2 && configured.codes.perNumberPerDay == 6)
        #expect(configured.codes.perAddress == .perHour(20, burst: 10))
        #expect(configured.codes.pumping.distinctNumbers == 50)
        #expect(try await Self.configuration([:]).codes == CodeSendingPolicy())
        let badProxy = await #expect(throws: KithError.self) {
            try await Self.configuration(["kith.trusted.proxies": .string("10.0.0.0/8,proxy.internal")])
        }
        #expect(badProxy?.field == "KITH_TRUSTED_PROXIES")
        let badWindow = await #expect(throws: KithError.self) {
            try await Self.configuration(["kith.codes.pumping.window.seconds": .int(90_000)])
        }
        #expect(badWindow?.field == "KITH_CODES_PUMPING_WINDOW_SECONDS")
        let zero = await #expect(throws: KithError.self) {
            try await Self.configuration(["kith.codes.per.number.day": .int(0)])
        }
        #expect(zero?.field == "KITH_CODES_PER_NUMBER_DAY")
        let reads = try await Self.configuration([
            "kith.reads.per.hour": .int(600), "kith.recycled.after.days": .int(365),
        ])
        #expect(reads.reads.perUser == .perHour(600, burst: 60) && reads.verification.recycledAfterDays == 365)
        let recycled = await #expect(throws: KithError.self) {
            try await Self.configuration(["kith.recycled.after.days": .int(0)])
        }
        #expect(recycled?.field == "KITH_RECYCLED_AFTER_DAYS")
    }
}
