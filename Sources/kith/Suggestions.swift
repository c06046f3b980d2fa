import ArgumentParser
import Foundation
import KithGraph
import KithStore
import Logging

/// `kith eval-suggestions`: recall@k, hit-rate@k and NDCG@k of every scorer on the same held-out splits
/// of an undirected edge list, one split per seed, with the mean and the spread over the seeds.
struct EvalSuggestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-suggestions",
        abstract: "Measure people-you-may-know quality on an edge list (hold out edges, rank, score)."
    )

    @Option(help: "Undirected edge list: two integer IDs per line.")
    var edges: String?

    @Option(help: "Instead of --edges, a seeded synthetic graph: chung-lu or communities.")
    var synthetic: String?

    @Option(help: "People in the synthetic graph.")
    var nodes = 20_000

    @Option(help: "Mean number of connections in the synthetic graph.")
    var meanDegree = 10.0

    @Option(help: "Seed of the synthetic graph.")
    var graphSeed: UInt64 = 11

    @Option(help: "Fraction of edges held out.")
    var holdout = 0.1

    @Option(help: "Seeds of the splits and of the user samples: a list and ranges, e.g. 1-5 or 1,3,7.")
    var seeds = "1-5"

    @Option(help: "Users evaluated per split (with at least one held-out edge).")
    var users = 1000

    @Option(help: "Suggestions per user.")
    var k = 10

    func run() throws {
        let list: [(NodeID, NodeID)]
        switch (edges, synthetic) {
        case (let path?, nil):
            list = try EdgeList.load(path: path)
        case (nil, let kind?):
            let edgeCount = Int(Double(nodes) * meanDegree / 2)
            switch kind {
            case "chung-lu": list = SyntheticGraph.chungLu(userCount: nodes, edgeCount: edgeCount, seed: graphSeed)
            case "communities":
                list = SyntheticGraph.communities(userCount: nodes, edgeCount: edgeCount, seed: graphSeed)
            default: throw ValidationError("--synthetic: chung-lu or communities")
            }
            print("synthetic \(kind): \(nodes) people, mean degree \(meanDegree), seed \(graphSeed)")
        default:
            throw ValidationError("give --edges FILE or --synthetic chung-lu|communities")
        }
        let seeds = try Self.seeds(seeds)
        print(SuggestionEvaluation.compare(edges: list, holdout: holdout, seeds: seeds, users: users, k: k))
    }

    /// `1-5`, `1,3,7` or a mix.
    static func seeds(_ text: String) throws -> [UInt64] {
        var seeds: [UInt64] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map {
                UInt64($0.trimmingCharacters(in: .whitespaces))
            }
            guard bounds.count <= 2, let low = bounds.first ?? nil, let high = bounds.last ?? nil, low <= high,
                high - low < 1_000
            else { throw ValidationError("--seeds: expected seeds and ranges such as 1-5 or 1,3,7; got \(part)") }
            seeds += Array(low...high)
        }
        guard !seeds.isEmpty else { throw ValidationError("--seeds: at least one seed") }
        return seeds
    }
}

/// `kith bench suggestions`: the in-memory graph engine on a synthetic heavy-tailed graph, and the same
/// top 10 computed by SQL on the store (SQLite, and PostgreSQL when given) for the ratio.
struct SuggestionsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suggestions")

    @Option(help: "Users in the synthetic graph.")
    var users = 1_000_000

    @Option(help: "Edges drawn for the synthetic graph.")
    var edges = 10_000_000

    @Option(help: "Seed of the synthetic graph.")
    var seed: UInt64 = 7

    @Option(help: "Users per target degree timed through SQL (0 skips the SQL baseline).")
    var sqlUsers = 20

    @Option(
        help: "Also time SQL on this PostgreSQL database (emptied first!), e.g. postgres://kith@127.0.0.1/kith_bench."
    )
    var postgresURL: String?

    func run() async throws {
        var configuration = BenchmarkConfiguration()
        configuration.userCount = users
        configuration.edgeCount = edges
        configuration.seed = seed
        let report = GraphBenchmark.run(configuration) { print("... \($0)") }
        print(report)
        guard sqlUsers > 0 else { return }

        let logger = makeLogger(.warning)
        try await withBenchStores(postgresURL: postgresURL, logger: logger) { name, database in
            print("... [\(name)] loading \(report.graph.edgeCount * 2) connection rows")
            let start = ContinuousClock.now
            try await SQLSuggestionBaseline.load(report.graph, into: database)
            print("[\(name)] load: \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
            for latency in report.latencies {
                let sample = Array((report.sampledUsers[latency.targetDegree] ?? []).prefix(sqlUsers))
                var seconds: [Double] = []
                var agree = 0
                for user in sample {
                    let begin = ContinuousClock.now
                    let top = try await SQLSuggestionBaseline.topTen(for: user, on: database)
                    seconds.append((ContinuousClock.now - begin).seconds)
                    let engine = report.graph.suggestions(for: user, k: 10).map(\.candidate)
                    if Set(top) == Set(engine) { agree += 1 }
                }
                seconds.sort()
                let p50 = seconds[seconds.count / 2]
                print(
                    "[\(name)] SQL top 10, degree~\(latency.targetDegree) (\(sample.count) users): "
                        + "p50 \(String(format: "%.1f", p50 * 1e3)) ms, max \(String(format: "%.1f", seconds.last! * 1e3)) ms; "
                        + "graph engine p50 \(String(format: "%.3f", latency.p50 * 1e3)) ms; "
                        + "ratio SQL/engine \(String(format: "%.0f", p50 / latency.p50))x; "
                        + "same top 10: \(agree)/\(sample.count)"
                )
            }
        }
    }
}
