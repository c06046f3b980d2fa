import ArgumentParser
import Foundation
import KithCore
import KithServer
import KithStore
import Logging

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Kith's capabilities (build with -c release for figures).",
        subcommands: [
            LedgerBench.self, SuggestionsBench.self, DiscoveryBench.self, HTTPBench.self, RightsBench.self,
            MessagesBench.self, PhoneBench.self,
        ]
    )
}

/// `kith bench ledger`: processing-log appends per second (single and batched) and verification time.
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger")

    @Option(help: "Entries to verify (the log is filled up to this size).")
    var entries = 1_000_000

    @Option(help: "Appends measured one transaction each.")
    var single = 2_000

    @Option(help: "Entries per batched transaction.")
    var batch = 1_000

    @Option(help: "Also run on this PostgreSQL database (emptied first!), e.g. postgres://kith@127.0.0.1/kith_bench.")
    var postgresURL: String?

    func run() async throws {
        let logger = makeLogger(.warning)
        let keys = KithKeys.generate()
        try await withBenchStores(postgresURL: postgresURL, logger: logger) { name, database in
            let log = ProcessingLog(keys: keys)
            let draft = EntryDraft(
                actor: "s:0123456789abcdef0123456789abcdef",
                subject: "s:0123456789abcdef0123456789abcdef",
                purpose: .contactDiscovery,
                basis: .consent,
                basisRef: "consent:c_benchmark0000",
                initiation: Initiation(
                    kind: .userRequest,
                    action: "uploadContacts",
                    request: "req-0000000000",
                    session: "sess:0000000000000000"
                ),
                detail: "1000 numbers matched 12 accounts"
            )
            var start = Date()
            for _ in 0..<single {
                try await log.appendForBenchmark([draft], on: database)
            }
            let singleRate = Double(single) / Date().timeIntervalSince(start)
            print("[\(name)] single appends: \(Int(singleRate)) entries/s (\(single) transactions of 1)")

            let batchedCount = max(batch * 20, 1)
            start = Date()
            for _ in 0..<(batchedCount / batch) {
                let drafts = Array(repeating: draft, count: batch)
                try await log.appendForBenchmark(drafts, on: database)
            }
            let batchedRate = Double(batchedCount) / Date().timeIntervalSince(start)
            print("[\(name)] batched appends: \(Int(batchedRate)) entries/s (transactions of \(batch))")

            var filled = single + batchedCount
            while filled < entries {
                let count = min(5_000, entries - filled)
                let drafts = Array(repeating: draft, count: count)
                try await log.appendForBenchmark(drafts, on: database)
                filled += count
            }
            start = Date()
            let report = try await ProcessingLog.verify(on: database, publicKey: log.publicKey)
            let seconds = Date().timeIntervalSince(start)
            print(
                "[\(name)] verify: \(report.entries) entries in \(String(format: "%.2f", seconds)) s, intact: \(report.isIntact)"
            )
        }
    }
}

/// `kith bench rights` (issue 14): a heavy user's export and their deletion with the erasure scan.
struct RightsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rights")

    @Option(help: "Heavy users built, exported and deleted (one figure each).")
    var heavyUsers = 3

    @Option(help: "Connections of each heavy user.")
    var connections = 1_000

    @Option(
        help:
            "Contact edges of each heavy user, half theirs, half others' with their number (each a distinct pair: half as many other people sign up)."
    )
    var contactEdges = 5_000

    @Option(help: "Also run on this PostgreSQL database (emptied first!), e.g. postgres://kith@127.0.0.1/kith_bench.")
    var postgresURL: String?

    func run() async throws {
        let logger = makeLogger(.warning)
        let keys = KithKeys.generate()
        let (heavyUsers, connections, contactEdges) = (self.heavyUsers, self.connections, self.contactEdges)
        try await withBenchStores(postgresURL: postgresURL, logger: logger) { name, database in
            var bench = RightsBenchmark(store: KithStore(database: database, keys: keys))
            bench.heavyUsers = heavyUsers
            bench.connections = connections
            bench.contactEdges = contactEdges
            let figures = try await bench.run { print("[\(name)] \($0)") }
            func ms(_ values: [Double]) -> String {
                let sorted = values.sorted()
                let median = sorted[sorted.count / 2]
                return String(format: "median %.0f ms, max %.0f ms", median * 1000, (sorted.last ?? 0) * 1000)
            }
            print(
                "[\(name)] export: \(ms(figures.exports)) (\(figures.exportedRows) rows, \(figures.exportedEdges) contact edges, "
                    + "\(figures.logEntries) log entries "
                    + "with proofs, \(figures.exportBytes / 1024) KiB zipped; target ≤ 500 ms)"
            )
            print(
                "[\(name)] deletion with scan: \(ms(figures.erasures)) (\(figures.erasedRows) rows erased, "
                    + "\(figures.unkeptHits) rows found by the scan outside what rules keep; target ≤ 1 s)"
            )
            let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            print("[\(name)] machine load: \(load?.joined(separator: " ") ?? "unknown")")
        }
    }
}

/// `kith bench messages` (issue 13): invitations previewed, authorised and dispatched per second, with the
/// evidence check of the dispatcher on; p50/p99 of the send.
struct MessagesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "messages")

    @Option(help: "Invitations previewed, sent and dispatched.")
    var invitations = 10_000

    /// A server's rate is measured with many clients at once, as it serves them: writes that arrive
    /// together commit together (group commit), so with few clients the rate is their round trips'.
    @Option(help: "Concurrent clients (8 shows the rate of a few clients' round trips).")
    var concurrency = 64

    @Option(help: "Also run on this PostgreSQL database (emptied first!), e.g. postgres://kith@127.0.0.1/kith_bench.")
    var postgresURL: String?

    func run() async throws {
        let logger = makeLogger(.warning)
        let keys = KithKeys.generate()
        let (invitations, concurrency) = (self.invitations, self.concurrency)
        try await withBenchStores(postgresURL: postgresURL, logger: logger) { name, database in
            var bench = MessagesBenchmark(store: KithStore(database: database, keys: keys))
            bench.invitations = invitations
            bench.concurrency = concurrency
            let figures = try await bench.run()
            func percentile(_ sorted: [Double], _ p: Double) -> String {
                String(format: "%.2f ms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000)
            }
            print(
                "[\(name)] invitations previewed, authorised and dispatched: \(Int(figures.perSecond))/s "
                    + "(\(figures.dispatched) dispatched, \(concurrency) clients; target ≥ 2,000/s)"
            )
            print(
                "[\(name)] sendInvitation: p50 \(percentile(figures.sendSeconds, 0.5)), p99 \(percentile(figures.sendSeconds, 0.99)); "
                    + "previewInvitation: p50 \(percentile(figures.previewSeconds, 0.5)), p99 \(percentile(figures.previewSeconds, 0.99))"
            )
            let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            print("[\(name)] machine load: \(load?.joined(separator: " ") ?? "unknown")")
        }
    }
}

/// Runs `body` on a fresh, migrated SQLite store in a temporary directory, then (when `postgresURL` is
/// given) on that PostgreSQL database after emptying its `public` schema.
func withBenchStores(
    postgresURL: String?,
    logger: Logger,
    _ body: @Sendable (_ name: String, KithDatabase) async throws -> Void
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kith-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var targets = [("sqlite", "sqlite://" + directory.appendingPathComponent("bench.sqlite").path)]
    if let postgresURL { targets.append(("postgres", postgresURL)) }
    for (name, url) in targets {
        try await withDatabase(url: url, logger: logger) { database in
            try await database.emptyForBenchmark()
            try await database.migrate(logger: logger)
            try await body(name, database)
        }
    }
}
