import ArgumentParser
import Foundation
import Hummingbird
import KithCore
import KithGraph
import KithServer
import KithStore
import Logging

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `kith bench discovery`: matching a 1,000-number upload against N registered users.
///
/// Reports the seeding time, the match index's size, the read-only matching core, the whole in-process
/// `ContactDiscovery.match` of new numbers (consent, quota, confirmation, edges, log, one commit), and
/// whole `uploadContacts` requests over loopback HTTP. Run it under `taskset -c 0` for one-core figures.
struct DiscoveryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "discovery")

    @Option(help: "Registered users seeded (1,000,000 by default; 10,000,000 optional).")
    var users = 1_000_000

    @Option(help: "Uploads timed.")
    var rounds = 300

    @Option(help: "Port for the loopback whole-request measurement.")
    var port = 18_123

    @Option(
        help:
            "Keep the seeded store and its keys in this directory and reuse them on the next run (seeding 10M takes minutes)."
    )
    var directory: String?

    func run() async throws {
        let logger = makeLogger(.warning)
        let kept = self.directory.map { URL(fileURLWithPath: $0) }
        let directory =
            kept ?? FileManager.default.temporaryDirectory.appendingPathComponent("kith-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if kept == nil { try? FileManager.default.removeItem(at: directory) } }
        let url = "sqlite://" + directory.appendingPathComponent("bench.sqlite").path
        let keyFile = directory.appendingPathComponent("keys.json").path
        // A kept store is only readable with the keys it was seeded with.
        if kept != nil, FileManager.default.fileExists(atPath: directory.appendingPathComponent("bench.sqlite").path),
            !FileManager.default.fileExists(atPath: keyFile)
        {
            throw ValidationError("\(directory.path) holds a store without its keys.json; use an empty directory.")
        }
        let keys = kept == nil ? KithKeys.generate() : try KithKeys.loadOrCreate(keyFile: keyFile, logger: logger)
        let users = self.users
        let rounds = self.rounds
        let uploader = UserID(rawValue: "bench-uploader")
        let token = "bench-token-" + UUID().uuidString
        print("cores: \(ProcessInfo.processInfo.activeProcessorCount), allowed to this process: \(Self.allowedCores)")

        try await withDatabase(url: url, logger: logger) { database in
            try await database.migrate(logger: logger)
            let store = KithStore(database: database, keys: keys)
            let vault = store.vault
            var start = Date()
            let notice = PurposeCatalogue.standard.current.version
            let present = try await DiscoveryBenchmarkPopulation.seededUsers(in: database)
            if present == 0 {
                try await DiscoveryBenchmarkPopulation.seed(users: users, database: database, vault: vault)
                print("seeded \(users) users in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            } else {
                // The seeded users plus the uploader, or the store is not what this run would seed.
                guard present == users + 1 else {
                    throw ValidationError(
                        "\(directory.path) holds \(present - 1) seeded users, not \(users); pass --users \(present - 1) or an empty directory."
                    )
                }
                print("seeded: reusing \(present - 1) users in \(directory.path)")
            }
            let uploaderPhone = try PhoneNumber.parse(DiscoveryBenchmarkPopulation.number(1, prefix: "136")).get()
            try await DiscoveryBenchmarkPopulation.prepareUploader(
                uploader,
                phone: uploaderPhone,
                token: token,
                fresh: present == 0,
                store: store
            )
            let purpose = store.catalogue.purpose(.contactDiscovery)!
            _ = try await ConsentLedger(store: store).grant(
                ConsentEvidence(
                    purpose: .contactDiscovery,
                    noticeVersion: notice,
                    locale: .en,
                    textSHA256: purpose.consentText(.en).sha256Hex,
                    initialState: .unchecked,
                    channel: .api
                ),
                by: uploader,
                initiation: Initiation(kind: .operatorCommand, action: "bench")
            )

            let index = DiscoveryIndex()
            print("measuring on cores: \(Self.allowedCores)")
            start = Date()
            try await index.catchUp(on: database)
            let bytes = Double(index.bytesUsed)
            print(
                "match index: \(index.count) discoverable people loaded in \(String(format: "%.2f", Date().timeIntervalSince(start))) s, "
                    + "\(index.bytesUsed) bytes: \(String(format: "%.2f", bytes / Double(users + 1))) bytes per registered user, "
                    + "\(String(format: "%.1f", bytes / Double(max(1, index.count)))) per discoverable person"
            )

            // 1,000 numbers: 100 registered (10 of them discoverable on average), 900 that belong to no one.
            var generator = SplitMix64(seed: 7)
            func upload() -> [String] {
                (0..<100).map { _ in DiscoveryBenchmarkPopulation.number(Int(generator.next() % UInt64(users))) }
                    + (0..<900).map { _ in
                        DiscoveryBenchmarkPopulation.number(Int(generator.next() % 90_000_000), prefix: "137")
                    }
            }
            let discovery = ContactDiscovery(store: store, index: index)
            // The in-memory part alone: normalising and blind-indexing 1,000 numbers.
            var samples: [Double] = []
            var checksum: UInt64 = 0
            for _ in 0..<rounds {
                let numbers = upload()
                let begin = DispatchTime.now().uptimeNanoseconds
                let indexer = vault.blindIndexer()
                for text in numbers {
                    if case .success(let phone) = PhoneNumber.parseMobile(text, defaultRegion: .cn) {
                        checksum ^= indexer.index(phone).prefix
                    }
                }
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
            }
            print(
                "parse and blind index alone, 1,000 numbers in memory (checksum \(checksum % 10)): "
                    + Self.percentiles(samples)
            )
            samples = []
            for _ in 0..<rounds {
                let numbers = upload()
                let begin = DispatchTime.now().uptimeNanoseconds
                for text in numbers {
                    if case .success(let phone) = PhoneNumber.parseMobile(text, defaultRegion: .cn) {
                        checksum ^= UInt64(phone.e164.utf8.count)
                    }
                }
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
            }
            print("of which parsing alone (checksum \(checksum % 10)): " + Self.percentiles(samples))
            var matched = 0
            samples = []
            for _ in 0..<rounds {
                let numbers = upload()
                let begin = DispatchTime.now().uptimeNanoseconds
                matched += try await discovery.countMatches(uploader: uploader, numbers: numbers, region: .cn)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
            }
            print(
                "server-side matching core (read-only: parse, blind index, prefix index, confirm), 1,000 numbers "
                    + "(\(rounds) uploads, \(matched / max(1, rounds)) matches each on average): "
                    + Self.percentiles(samples)
            )

            // The whole match of 1,000 new numbers, as the route calls it; the bench's quota lets every round through.
            let unlimited = ContactDiscovery(store: store, index: index, quota: RateLimit(burst: 1e12, perSecond: 0))
            matched = 0
            samples = []
            for round in 0..<rounds {
                let numbers = upload()
                let begin = DispatchTime.now().uptimeNanoseconds
                let result = try await unlimited.match(
                    uploader: uploader,
                    numbers: numbers,
                    previousNumbers: [],
                    recheckToken: nil,
                    region: .cn,
                    initiation: Initiation(kind: .userRequest, action: "uploadContacts", request: "bench-\(round)")
                )
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
                matched += result.matches.count
            }
            print(
                "server-side match, 1,000 new numbers (consent, quota, confirm, edges, log, commit with synchronous=FULL; "
                    + "\(rounds) uploads, \(matched / max(1, rounds)) matches each on average): "
                    + Self.percentiles(samples)
            )
        }

        // Whole request over loopback, through the HTTP server, re-checking one 1,000-number set.
        var configuration = KithConfiguration()
        configuration.databaseURL = url
        configuration.port = port
        configuration.smsOutbox = directory.appendingPathComponent("outbox.jsonl").path
        var overrides = KithOverrides(keys: keys)
        // One client sends every request: lift its per-address limit so all rounds are timed.
        overrides.rateLimits.discoveryUploadsPerAddress = RateLimit(burst: 1e12, perSecond: 0)
        let (app, _) = try await buildApplication(configuration: configuration, logger: logger, overrides: overrides)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            let base = URL(string: "http://127.0.0.1:\(port)/v1/me/contacts/matches")!
            var ready = false
            let start = Date()
            for _ in 0..<100 where !ready {
                try await Task.sleep(for: .milliseconds(100))
                // The first upload loads the server's match index from the store.
                ready = (try? await Self.post(base, token: token, body: ["numbers": []], timeout: 600))?.0 == 200
            }
            print("server ready (match index loaded) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            var generator = SplitMix64(seed: 11)
            let numbers =
                (0..<100).map { _ in DiscoveryBenchmarkPopulation.number(Int(generator.next() % UInt64(users))) }
                + (0..<900).map { _ in
                    DiscoveryBenchmarkPopulation.number(Int(generator.next() % 90_000_000), prefix: "137")
                }
            let (status, first) = try await Self.post(base, token: token, body: ["numbers": numbers])
            guard status == 200, let recheck = first["recheckToken"] as? String else {
                print("whole request: first upload failed with \(status)")
                group.cancelAll()
                return
            }
            var samples: [Double] = []
            for _ in 0..<rounds {
                let begin = DispatchTime.now().uptimeNanoseconds
                let (status, _) = try await Self.post(
                    base,
                    token: token,
                    body: ["previousNumbers": numbers, "numbers": [], "recheckToken": recheck]
                )
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
                if status != 200 { print("request failed: \(status)") }
            }
            print(
                "whole request over loopback, 1,000 numbers re-checked (\(rounds) requests, URLSession client, "
                    + "committed with synchronous=FULL): " + Self.percentiles(samples)
            )
            group.cancelAll()
        }
    }

    static func post(
        _ url: URL,
        token: String,
        body: [String: Any],
        timeout: TimeInterval = 60
    ) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, json)
    }

    /// The cores this process may run on now (`taskset` may narrow them while it runs).
    static var allowedCores: String { kith.allowedCores ?? "all" }

    static func percentiles(_ samples: [Double]) -> String {
        let sorted = samples.sorted()
        func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        return String(format: "p50 %.3f ms, p99 %.3f ms, max %.3f ms", at(0.5), at(0.99), sorted.last ?? 0)
    }
}
