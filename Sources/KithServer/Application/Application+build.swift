import Hummingbird
import HummingbirdTLS
import KithCore
import KithStore
import Logging
import NIOSSL
import Prometheus
import ServiceLifecycle

/// What a test (or another composition) may swap: the edges of the world, the clock and the rate limits.
public struct KithOverrides: Sendable {
    public var clock: WallClock = .system
    public var catalogue: PurposeCatalogue = .standard
    public var gateway: (any MessageGateway)?
    public var keys: KithKeys?
    /// Benchmarks raise the per-address limits to time more requests than one client may send.
    public var rateLimits = RateLimitPolicy()
    /// Benchmarks turn the read throttle off to measure what it costs (GEN-05); a server never does.
    public var throttleReads = true

    public init(
        clock: WallClock = .system,
        catalogue: PurposeCatalogue = .standard,
        gateway: (any MessageGateway)? = nil,
        keys: KithKeys? = nil
    ) {
        self.clock = clock
        self.catalogue = catalogue
        self.gateway = gateway
        self.keys = keys
    }
}

/// The capabilities a running server composes, shared by its routes.
public struct KithServices: Sendable {
    public let store: KithStore
    public let accounts: PhoneAccounts
    public let consents: ConsentLedger
    public let operators: Operators
    public let discovery: ContactDiscovery
    public let network: SocialNetwork
    public let suggestions: PeopleYouMayKnow
    public let messages: MessageDispatcher
    /// Account deletion and erasure (DSR-04, ACC-10).
    public let erasure: AccountErasure
    /// Requests that need a person (DSR-02, DSR-06..08).
    public let dataRequests: DataRequests
    /// Invitations after a preview (MSG-02..05).
    public let invitations: Invitations
    /// Partners that refer people with codes (ACC-05).
    public let partners: Partners
    /// Marketing only with consent (MSG-06..08).
    public let marketing: MarketingCampaigns
    /// Replies to Kith's messages: STOP (MSG-05, CON-08).
    public let inbound: InboundMessages
    /// The secret the SMS provider signs inbound messages with (`KITH_INBOUND_MESSAGE_SECRET`); without
    /// it every inbound call is refused.
    public let inboundMessageSecret: String?
    /// The read throttle (GEN-05); `nil` only in a benchmark that measures its cost.
    public let reads: ReadThrottle?
    public let metrics: PrometheusCollectorRegistry
    public let rateLimits: RateLimitPolicy
    public let defaultRegion: PhoneNumber.Region
    public let maxBodyBytes: Int
}

/// Builds the Kith application: opens the store, composes the capabilities, registers the routes.
///
/// The store is migrated before the server accepts connections.
/// - Returns: the application and its services (tests use the services to look behind the API).
public func buildApplication(
    configuration: KithConfiguration,
    logger: Logger,
    overrides: KithOverrides = KithOverrides()
) async throws -> (some ApplicationProtocol, KithServices) {
    let database = try await KithDatabase.open(url: configuration.databaseURL, logger: logger)
    let keys = try overrides.keys ?? configuration.keys(logger: logger)
    let store = KithStore(database: database, keys: keys, catalogue: overrides.catalogue, clock: overrides.clock)
    let gateway = overrides.gateway ?? OutboxGateway(path: configuration.smsOutbox)
    let network = SocialNetwork(store: store, replica: GraphReplica())
    let accounts = PhoneAccounts(store: store, policy: configuration.verification, codes: configuration.codes)
    let discovery = ContactDiscovery(store: store, index: DiscoveryIndex())
    let reads = overrides.throttleReads ? ReadThrottle(store: store, policy: configuration.reads) : nil
    // Every in-memory holder of the data inventory forgets an erased person (DSR-04).
    let holders: [any ForgetsErasedPeople] = [network.replica, discovery.index] + (reads.map { [$0] } ?? [])
    let erasure = AccountErasure(accounts: accounts, policy: configuration.deletion, holders: holders)
    let services = KithServices(
        store: store,
        accounts: accounts,
        consents: ConsentLedger(store: store),
        operators: Operators(store: store),
        discovery: discovery,
        network: network,
        suggestions: PeopleYouMayKnow(network: network),
        messages: MessageDispatcher(gateway: gateway, store: store),
        erasure: erasure,
        dataRequests: DataRequests(store: store, policy: configuration.dataRequests),
        invitations: Invitations(store: store, policy: configuration.invitations),
        partners: Partners(store: store),
        marketing: MarketingCampaigns(store: store, policy: configuration.marketing),
        inbound: InboundMessages(store: store),
        inboundMessageSecret: configuration.inboundMessageSecret,
        reads: reads,
        metrics: PrometheusCollectorRegistry(),
        rateLimits: overrides.rateLimits,
        defaultRegion: configuration.defaultRegion,
        maxBodyBytes: configuration.maxBodyBytes
    )
    let router = Router(context: KithRequestContext.self)
    let trustedProxies = configuration.trustedProxies.compactMap(IPNetwork.init)
    if !trustedProxies.isEmpty {
        router.add(
            middleware: ClientAddressMiddleware(
                resolver: ClientAddressResolver(
                    trustedProxies: trustedProxies,
                    forwarded: configuration.proxiesWriteForwarded
                )
            )
        )
    }
    if configuration.tls != nil { router.add(middleware: StrictTransportSecurityMiddleware()) }
    router.add(middleware: RequestLoggingMiddleware(metrics: services.metrics))
    let api = API(router: router)
    router.add(middleware: ProblemMiddleware(api: api))
    router.add(middleware: AuthenticationMiddleware(accounts: services.accounts))
    registerRoutes(on: api, services: services)

    var app = Application(
        router: router,
        server: try configuration.tls.map { try .tls(tlsConfiguration: try serverTLS(files: $0)) } ?? .http1(),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kith"),
        services: [
            database, GraphReplicaService(network: network, logger: logger),
            RetentionSweeper(
                store: store,
                interval: .seconds(configuration.retentionSweepSeconds),
                erasure: erasure,
                logger: logger
            ),
            SessionRevocationFeed(store: store, logger: logger), ErasureNoticeFeed(erasure: erasure, logger: logger),
        ] + (services.reads.map { [ReadThrottleSync(throttle: $0, logger: logger)] } ?? []),
        logger: logger
    )
    app.beforeServerStarts {
        try await database.migrate(logger: logger)
        try await network.replica.load(from: database, now: store.clock.nowMillis)
        // Load the discovery index before serving, so the first upload does not pay for it (CON-02).
        try await services.discovery.index.catchUp(on: database)
    }
    return (app, services)
}

/// TLS 1.2 or later with the configured certificate chain and key (CON-07).
func serverTLS(files: (certificate: String, key: String)) throws -> TLSConfiguration {
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    do {
        chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        key = try NIOSSLPrivateKey(file: files.key, format: .pem)
    } catch {
        // The file names are the operator's configuration; their contents are never shown.
        throw KithError.invalid("KITH_TLS_CERTIFICATE", "The certificate chain or key could not be read as PEM.")
    }
    guard !chain.isEmpty else {
        throw KithError.invalid("KITH_TLS_CERTIFICATE", "The certificate file holds no certificate.")
    }
    var tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: chain.map { .certificate($0) },
        privateKey: .privateKey(key)
    )
    tls.minimumTLSVersion = .tlsv12
    return tls
}

/// Tells browsers to use HTTPS only for this host for a year (CON-07); added when the server speaks TLS.
struct StrictTransportSecurityMiddleware: RouterMiddleware {
    func handle(
        _ request: Request,
        context: KithRequestContext,
        next: @concurrent (Request, KithRequestContext) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.strictTransportSecurity] = "max-age=31536000"
        return response
    }
}

/// Every route group, in one place; ``documentedOperations(services:)`` reads the same list.
func registerRoutes(on api: API, services: KithServices) {
    AccountRoutes(services: services).register(on: api)
    ConsentRoutes(services: services).register(on: api)
    DiscoveryRoutes(services: services).register(on: api)
    ProfileRoutes(services: services).register(on: api)
    ConnectionRoutes(services: services).register(on: api)
    SuggestionRoutes(services: services).register(on: api)
    OperationsRoutes(services: services).register(on: api)
    OperatorRoutes(services: services).register(on: api)
    DataRightsRoutes(services: services).register(on: api)
    InvitationRoutes(services: services).register(on: api)
    PartnerRoutes(services: services).register(on: api)
}

/// The operations the server implements, for checking them against the OpenAPI document.
public func implementedOperations(services: KithServices) -> [APIOperation] {
    let api = API(router: Router(context: KithRequestContext.self))
    registerRoutes(on: api, services: services)
    return api.operations
}

/// Logs each request with method, route template, status and duration — never the URL's values, the
/// body or headers — and counts it in the metrics by route template (no personal data in labels).
///
/// The line is at `debug` (`KITH_LOG_LEVEL=debug` shows it; the gates run at `trace`), and at `error`
/// for a server error: written to stderr for every request it cost a tenth of an authenticated read
/// (issue 12, docs/performance.md), and the counts are in the metrics anyway. Security events are in
/// the processing log, not here.
///
/// Being the outermost of Kith's middlewares, it also runs the rest of the request with its event loop
/// as task executor (``EventLoopTaskExecutor``): every layer inside then awaits without a queue round
/// trip.
struct RequestLoggingMiddleware: RouterMiddleware {
    let metrics: PrometheusCollectorRegistry

    func handle(
        _ request: Request,
        context: KithRequestContext,
        next: @concurrent (Request, KithRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await withTaskExecutorPreference(EventLoopTaskExecutor.current) {
            try await next(request, context)
        }
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        let status = String(response.status.code)
        context.logger.log(
            level: response.status.code >= 500 ? .error : .debug,
            "request",
            metadata: [
                "http.method": "\(request.method.rawValue)",
                "http.route": "\(route)",
                "http.status": "\(status)",
                "duration_ms":
                    "\(elapsed.components.attoseconds / 1_000_000_000_000_000 + elapsed.components.seconds * 1000)",
            ]
        )
        metrics.makeCounter(
            descriptor: Self.requests,
            labels: [("method", request.method.rawValue), ("route", route), ("status", status)]
        ).increment()
        return response
    }

    /// `kith_http_requests_total`.
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "kith",
            subsystem: "http",
            metricName: "requests",
            unitName: "total",
            helpText: "HTTP requests by method, route template and status."
        )
    }
}
