import ArgumentParser
import Foundation
import Hummingbird
import KithCore
import KithServer
import KithStore
import Logging
import ServiceLifecycle

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `kith bench http`: whole requests per second through the real application, against a ceiling.
///
/// Starts Kith as `kith serve` builds it (``buildApplication(configuration:logger:overrides:)``) on a fresh
/// SQLite store in a temporary directory, or on an emptied PostgreSQL database (`--postgres-url`), and in
/// the same process a bare Hummingbird router answering `GET /` with "Hello": the most one core can serve
/// through this HTTP stack, so each scenario's ratio to it says what Kith's own work costs. Seeds a viewer
/// with 100 connections and hundreds of people two steps away (``HTTPBenchPopulation``), signed in through
/// the SMS code flow, then drives each scenario with `wrk` for `--seconds`, `--rounds` times, the ceiling
/// interleaved with the others so that drift on a shared machine hits all alike. The process (both
/// servers) runs on `--server-core` (it re-executes itself under `taskset`: ``CorePinning``), wrk on
/// `--wrk-core`. Any non-2xx answer or socket error fails the bench. Logs at `warning`; `kith serve` at its
/// default `info` writes no line per request either (that line is at `debug`).
struct HTTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Requests per second through Kith's HTTP server, with wrk, against a bare Hummingbird ceiling."
    )

    @Option(help: "Run on this PostgreSQL database (emptied first!) instead of SQLite in a temporary directory.")
    var postgresURL: String?

    @Option(help: "wrk's keep-alive connections.")
    var connections = 64

    @Option(help: "wrk's threads.")
    var threads = 1

    @Option(help: "Seconds each measured wrk run lasts.")
    var seconds = 8

    @Option(help: "Rounds of every scenario; the table shows the median over rounds.")
    var rounds = 3

    @Option(help: "Seconds of unmeasured warm-up per scenario before the first round (0: none).")
    var warmup = 1

    @Option(help: "Port for Kith.")
    var port = 18_124

    @Option(help: "Port for the bare Hummingbird router (the ceiling).")
    var ceilingPort = 18_125

    @Option(help: "The core this process (both servers) is pinned to.")
    var serverCore = 0

    @Option(help: "The core wrk runs on (taskset -c).")
    var wrkCore = 1

    @Option(help: "Only these scenarios (comma-separated names), with the ceiling; all by default.")
    var only: String?

    func validate() throws {
        guard connections >= threads, threads >= 1 else {
            throw ValidationError("wrk needs at least one thread and as many connections as threads.")
        }
        guard seconds >= 1, rounds >= 1, warmup >= 0 else {
            throw ValidationError("--seconds and --rounds are at least 1, --warmup at least 0.")
        }
        guard serverCore != wrkCore, serverCore >= 0, wrkCore >= 0 else {
            throw ValidationError("The servers and wrk run on two different cores.")
        }
    }

    func run() async throws {
        // First of all: everything after this runs, and starts its threads, on the server core.
        try CorePinning.runOnly(on: serverCore)
        let loadBefore = Self.loadAverage
        let coresAtStart = CorePinning.coresAtStart
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kith-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let wrk = WrkRunner(core: wrkCore, threads: threads, connections: connections, directory: directory)
        try wrk.prepare()

        let logger = makeLogger(.warning)
        let store = postgresURL == nil ? "sqlite" : "postgres"
        let url = postgresURL ?? "sqlite://" + directory.appendingPathComponent("bench.sqlite").path
        try await withDatabase(url: url, logger: logger) { database in
            try await database.emptyForBenchmark()
            try await database.migrate(logger: logger)
        }
        var configuration = KithConfiguration()
        configuration.databaseURL = url
        configuration.port = port
        configuration.smsOutbox = directory.appendingPathComponent("outbox.jsonl").path
        configuration.codes = .seeding
        // wrk reads as one person as fast as it can: the throttle runs on every read, never refuses one.
        configuration.reads = .unreachable
        let inbox = BenchCodeInbox(codeLength: VerificationPolicy().codeLength)
        let (app, services) = try await buildApplication(
            configuration: configuration,
            logger: logger,
            overrides: KithOverrides(gateway: inbox, keys: KithKeys.generate())
        )
        let router = Router()
        router.get("/") { _, _ in "Hello" }
        let ceiling = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: ceilingPort), serverName: "ceiling"),
            logger: logger
        )
        print(
            "cores: \(ProcessInfo.processInfo.activeProcessorCount) online, allowed at start: \(coresAtStart); "
                + "servers pinned to core \(serverCore), wrk on core \(wrkCore)"
        )
        print(
            "config: store \(store), wrk -t\(threads) -c\(connections), \(seconds) s per run, \(rounds) rounds, "
                + "\(warmup) s warm-up per scenario, build \(Self.build)"
        )
        if postgresURL != nil {
            print("note: the PostgreSQL server is another process, not pinned: it runs on whichever cores it gets")
        }
        print("load average before: \(loadBefore)")

        // One group for both servers, shut down gracefully once the last run has drained.
        let servers = ServiceGroup(configuration: .init(services: [app, ceiling], logger: logger))
        let (population, viewerConnections, figures) = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await servers.run() }
            do {
                let measured = try await measure(services: services, inbox: inbox, wrk: wrk)
                await servers.triggerGracefulShutdown()
                return measured
            } catch {
                await servers.triggerGracefulShutdown()
                throw error
            }
        }

        let report = HTTPBenchReport(
            store: store,
            connections: connections,
            threads: threads,
            seconds: seconds,
            rounds: rounds,
            warmupSeconds: warmup,
            build: Self.build,
            cores: ProcessInfo.processInfo.activeProcessorCount,
            allowedCores: coresAtStart,
            serverCore: serverCore,
            wrkCore: wrkCore,
            loadBefore: loadBefore,
            loadAfter: Self.loadAverage,
            people: population.people,
            connectionsSeeded: population.connections,
            viewerConnections: viewerConnections,
            secondDegree: population.secondDegree,
            scenarios: HTTPBenchReport.scenarios(figures)
        )
        report.printTable()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print("HTTPBENCH " + String(decoding: try encoder.encode(report.rounded), as: UTF8.self))
    }

    /// Seeds the population, checks every scenario answers with real results, then runs wrk: a warm-up of
    /// each scenario, and `rounds` rounds of all of them in turn.
    func measure(
        services: KithServices,
        inbox: BenchCodeInbox,
        wrk: WrkRunner
    ) async throws -> (HTTPBenchPopulation, viewerConnections: Int, [(HTTPBenchScenario, [WrkFigures])]) {
        try await Self.waitUntilAnswering("http://127.0.0.1:\(port)/health")
        try await Self.waitUntilAnswering("http://127.0.0.1:\(ceilingPort)/")

        let start = Date()
        let population = try await HTTPBenchPopulation.seed(services: services, inbox: inbox)
        let viewerConnections = try await services.network.connections(
            of: population.viewer.user,
            viewer: population.viewer.user,
            after: nil,
            limit: 1_000
        ).count
        print(
            "seeded in \(String(format: "%.1f", Date().timeIntervalSince(start))) s: \(population.people) people "
                + "signed in by SMS code, \(population.connections) accepted connections; the viewer has "
                + "\(viewerConnections) connections and \(population.secondDegree) people two steps away"
        )
        if let reads = services.reads {
            try await Self.printThrottleCost(reads, viewer: population.viewer.user, other: population.other.user)
        }
        let chosen = only.map { Set($0.split(separator: ",").map(String.init) + ["ceiling"]) }
        let scenarios = scenarios(for: population).filter { chosen?.contains($0.name) ?? true }
        for scenario in scenarios { try await scenario.check() }

        let strays = CorePinning.strays(from: serverCore)
        guard strays.isEmpty else {
            throw HTTPBenchError("threads not on core \(serverCore): \(strays.joined(separator: ", "))")
        }
        print("\(CorePinning.threads.count) threads, all on core \(serverCore)")
        if warmup > 0 {
            for scenario in scenarios {
                try scenario.judge(
                    try await wrk.run(scenario.url, token: scenario.token, seconds: warmup),
                    "warm-up"
                )
            }
        }
        var figures: [String: [WrkFigures]] = [:]
        for round in 1...rounds {
            for scenario in scenarios {
                let run = try await wrk.run(scenario.url, token: scenario.token, seconds: seconds)
                try scenario.judge(run, "round \(round)")
                figures[scenario.name, default: []].append(run)
                print(
                    "round \(round) \(scenario.name): \(Int(run.requestsPerSecond)) req/s, p50 "
                        + Self.milliseconds(run.p50Us) + " ms, p99 " + Self.milliseconds(run.p99Us) + " ms"
                )
            }
        }
        let after = CorePinning.strays(from: serverCore)
        guard after.isEmpty else {
            throw HTTPBenchError("threads left core \(serverCore): \(after.joined(separator: ", "))")
        }
        return (population, viewerConnections, scenarios.map { ($0, figures[$0.name] ?? []) })
    }

    func scenarios(for population: HTTPBenchPopulation) -> [HTTPBenchScenario] {
        let kith = "http://127.0.0.1:\(port)"
        let viewer = population.viewer.token
        return [
            HTTPBenchScenario("ceiling", "GET / (bare Hummingbird router)", "http://127.0.0.1:\(ceilingPort)/"),
            HTTPBenchScenario("health", "GET /health", kith + "/health"),
            HTTPBenchScenario("me", "GET /v1/me", kith + "/v1/me", token: viewer),
            HTTPBenchScenario(
                "profile",
                "GET /v1/users/{id}/profile (a connection's)",
                kith + "/v1/users/\(population.other.user.rawValue)/profile",
                token: viewer
            ),
            HTTPBenchScenario(
                "suggestions",
                "GET /v1/me/suggestions (personalised)",
                kith + "/v1/me/suggestions",
                token: viewer,
                expect: .suggestions(personalised: true)
            ),
            HTTPBenchScenario(
                "suggestions-plain",
                "GET /v1/me/suggestions (plain: no consent)",
                kith + "/v1/me/suggestions",
                token: population.other.token,
                expect: .suggestions(personalised: false)
            ),
            HTTPBenchScenario(
                "second-degree",
                "GET /v1/me/network/second-degree",
                kith + "/v1/me/network/second-degree",
                token: viewer,
                expect: .secondDegree
            ),
        ]
    }

    /// What the read throttle adds to each throttled request (GEN-05, issue 15 §4): the time of
    /// ``ReadThrottle/take(_:reading:initiation:)`` for a reader the node knows, as `listSuggestions` calls it
    /// (no person read) and as `getProfile` does (one person), 200,000 calls each, p50 and p99; and one
    /// synchronisation with the store.
    static func printThrottleCost(_ reads: ReadThrottle, viewer: UserID, other: UserID) async throws {
        let initiation = Initiation(kind: .userRequest, action: "bench")
        for (label, subject) in [("suggestions (no person read)", nil), ("profile (one person read)", other)] {
            var micros: [Double] = []
            micros.reserveCapacity(200_000)
            for _ in 0..<200_000 {
                let start = ContinuousClock.now
                try await reads.take(viewer, reading: subject, initiation: initiation)
                let elapsed = ContinuousClock.now - start
                micros.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
            }
            micros.sort()
            print(
                "read throttle, \(label): p50 \(String(format: "%.2f", micros[micros.count / 2])) µs, p99 "
                    + String(format: "%.2f", micros[micros.count * 99 / 100]) + " µs per request"
            )
        }
        let start = ContinuousClock.now
        try await reads.synchronise()
        print("read throttle synchronisation (1 reader): \(ContinuousClock.now - start)")
    }

    /// The first three fields of `/proc/loadavg`.
    static var loadAverage: String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3)
            .joined(separator: " ")
    }

    static var build: String {
        #if DEBUG
        "debug (figures are not meaningful: build with -c release)"
        #else
        "release"
        #endif
    }

    static func milliseconds(_ microseconds: Int) -> String { String(format: "%.2f", Double(microseconds) / 1000) }

    /// Waits up to 60 s for `url` to answer 200.
    static func waitUntilAnswering(_ url: String) async throws {
        for _ in 0..<600 {
            if (try? await get(url, token: nil))?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HTTPBenchError("\(url) did not answer within 60 s")
    }

    static func get(_ url: String, token: String?) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: 10)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}

/// One request `kith bench http` measures.
struct HTTPBenchScenario: Sendable {
    /// What the answer must hold for the figures to mean what the table says.
    enum Expectation: Sendable {
        case any
        case suggestions(personalised: Bool)
        case secondDegree
    }

    var name: String
    var label: String
    var url: String
    var token: String?
    var expect: Expectation

    init(_ name: String, _ label: String, _ url: String, token: String? = nil, expect: Expectation = .any) {
        self.name = name
        self.label = label
        self.url = url
        self.token = token
        self.expect = expect
    }

    /// Sends the request once and checks the answer is a 2xx holding real results.
    func check() async throws {
        let (status, body) = try await HTTPBench.get(url, token: token)
        guard (200..<300).contains(status) else {
            throw HTTPBenchError("\(name): \(label) answered \(status): \(String(decoding: body, as: UTF8.self))")
        }
        let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        var holds = "\(body.count) bytes"
        switch expect {
        case .any:
            break
        case .suggestions(let personalised):
            let count = (json["suggestions"] as? [Any])?.count ?? 0
            guard json["personalised"] as? Bool == personalised, count > 0 else {
                throw HTTPBenchError("\(name): expected a non-empty list with personalised = \(personalised)")
            }
            holds += ", \(count) suggestions, personalised: \(personalised)"
        case .secondDegree:
            let count = (json["people"] as? [Any])?.count ?? 0
            guard count > 0 else { throw HTTPBenchError("\(name): the second degree is empty") }
            holds += ", \(count) people (the route's default limit)"
        }
        print("\(name): \(label) answers \(status), \(holds)")
    }

    /// Fails the bench on any non-2xx answer or socket error. (wrk counts answers of 400 and above as status
    /// errors; these routes answer nothing below 200 nor any redirect, and ``check()`` required a 2xx.)
    func judge(_ run: WrkFigures, _ when: String) throws {
        guard run.non2xx == 0, run.socketErrors == 0, run.requests > 0 else {
            throw HTTPBenchError(
                "\(name) (\(when)): \(run.requests) requests, \(run.non2xx) non-2xx, socket errors: connect "
                    + "\(run.connect), read \(run.read), write \(run.write), timeout \(run.timeout)"
            )
        }
    }
}

/// What `kith bench http` found, as the table and the `HTTPBENCH` line show it.
struct HTTPBenchReport: Codable {
    struct Scenario: Codable {
        var name: String
        var request: String
        /// Medians over rounds.
        var requestsPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double
        /// The median requests per second over the ceiling's.
        var ratioToCeiling: Double
        var roundsRequestsPerSecond: [Double]
    }

    var store: String
    var connections: Int
    var threads: Int
    var seconds: Int
    var rounds: Int
    var warmupSeconds: Int
    var build: String
    var cores: Int
    var allowedCores: String
    var serverCore: Int
    var wrkCore: Int
    var loadBefore: String
    var loadAfter: String
    var people: Int
    var connectionsSeeded: Int
    var viewerConnections: Int
    var secondDegree: Int
    var scenarios: [Scenario] = []

    /// Each scenario's medians over its rounds, and their ratio to the ceiling's (the first scenario).
    static func scenarios(_ runs: [(HTTPBenchScenario, [WrkFigures])]) -> [Scenario] {
        let ceiling = median(runs.first?.1.map(\.requestsPerSecond) ?? [])
        return runs.map { scenario, figures in
            let rates = figures.map(\.requestsPerSecond)
            return Scenario(
                name: scenario.name,
                request: scenario.label,
                requestsPerSecond: median(rates),
                p50Ms: median(figures.map { Double($0.p50Us) / 1000 }),
                p99Ms: median(figures.map { Double($0.p99Us) / 1000 }),
                ratioToCeiling: ceiling > 0 ? median(rates) / ceiling : 0,
                roundsRequestsPerSecond: rates
            )
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The figures at the precision they are measured to, for the `HTTPBENCH` line.
    var rounded: HTTPBenchReport {
        func round(_ value: Double, _ places: Double) -> Double {
            (value * pow(10, places)).rounded() / pow(10, places)
        }
        var copy = self
        copy.scenarios = scenarios.map {
            var scenario = $0
            scenario.requestsPerSecond = round($0.requestsPerSecond, 0)
            scenario.p50Ms = round($0.p50Ms, 3)
            scenario.p99Ms = round($0.p99Ms, 3)
            scenario.ratioToCeiling = round($0.ratioToCeiling, 3)
            scenario.roundsRequestsPerSecond = $0.roundsRequestsPerSecond.map { round($0, 0) }
            return scenario
        }
        return copy
    }

    func printTable() {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func left(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        print("")
        print(
            "store \(store); wrk -t\(threads) -c\(connections), \(seconds) s x \(rounds) rounds (median shown); "
                + "cores \(cores) (allowed \(allowedCores)), servers on core \(serverCore), wrk on core \(wrkCore); "
                + "build \(build)"
        )
        print(
            "seeded: \(people) people, \(connectionsSeeded) connections; the viewer: \(viewerConnections) connections, "
                + "\(secondDegree) people two steps away"
        )
        print(
            pad("scenario", 18) + pad("request", 44) + left("req/s", 9) + left("p50 ms", 9) + left("p99 ms", 9)
                + left("x ceiling", 11) + "   req/s per round"
        )
        for scenario in scenarios {
            print(
                pad(scenario.name, 18) + pad(scenario.request, 44)
                    + left(String(Int(scenario.requestsPerSecond.rounded())), 9)
                    + left(String(format: "%.2f", scenario.p50Ms), 9) + left(String(format: "%.2f", scenario.p99Ms), 9)
                    + left(String(format: "%.3f", scenario.ratioToCeiling), 11) + "   "
                    + scenario.roundsRequestsPerSecond.map { String(Int($0.rounded())) }.joined(separator: " / ")
            )
        }
        print("load average before: \(loadBefore), after: \(loadAfter)")
    }
}
