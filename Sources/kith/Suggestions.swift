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
            list = try Self.synthetic(kind, nodes: nodes, meanDegree: meanDegree, seed: graphSeed)
            print("synthetic \(kind): \(nodes) people, mean degree \(meanDegree), seed \(graphSeed)")
        default:
            throw ValidationError("give --edges FILE or --synthetic chung-lu|communities")
        }
        let seeds = try Self.seeds(seeds)
        print(SuggestionEvaluation.compare(edges: list, holdout: holdout, seeds: seeds, users: users, k: k))
    }

    /// A seeded synthetic graph: `chung-lu` or `communities`.
    static func synthetic(_ kind: String, nodes: Int, meanDegree: Double, seed: UInt64) throws -> [(NodeID, NodeID)] {
        let edgeCount = Int(Double(nodes) * meanDegree / 2)
        switch kind {
        case "chung-lu": return SyntheticGraph.chungLu(userCount: nodes, edgeCount: edgeCount, seed: seed)
        case "communities": return SyntheticGraph.communities(userCount: nodes, edgeCount: edgeCount, seed: seed)
        default: throw ValidationError("--synthetic: chung-lu or communities")
        }
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

/// `kith train-suggestions`: fits the learned ranker (issue 16 §2) on public or synthetic graphs and writes
/// the model file the server loads; `--swift` writes it as the model Kith ships.
struct TrainSuggestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-suggestions",
        abstract: "Fit the people-you-may-know ranker on edge lists and synthetic graphs; write the model file."
    )

    @Option(help: "An undirected edge list to fit on (repeatable): two integer IDs per line.")
    var edges: [String] = []

    @Option(
        help: "A synthetic graph to fit on (repeatable): KIND:MEAN-DEGREE, chung-lu or communities; e.g. communities:5."
    )
    var synthetic: [String] = []

    @Option(help: "People in each synthetic graph.")
    var nodes = 20_000

    @Option(help: "Seed of the synthetic graphs and of the hidden edges.")
    var seed: UInt64 = 101

    @Option(help: "The model's version label.")
    var version: String

    @Option(help: "Write the model as JSON here.")
    var out: String?

    @Option(help: "Write the model as Swift source here (Sources/KithGraph/ShippedSuggestionModel.swift).")
    var swift: String?

    func run() throws {
        guard !edges.isEmpty || !synthetic.isEmpty else { throw ValidationError("give --edges or --synthetic") }
        guard out != nil || swift != nil else { throw ValidationError("give --out FILE or --swift FILE") }
        var examples = SuggestionTraining.Examples()
        var sources: [String] = []
        func add(_ name: String, _ list: [(NodeID, NodeID)]) {
            let found = SuggestionTraining.examples(edges: list, seed: seed)
            let positives = found.labels.count { $0 }
            print("\(name): \(found.userCount) people, \(found.rows.count) candidates, \(positives) hidden connections")
            examples.append(found)
            sources.append("\(name) (\(list.count) edges)")
        }
        for path in edges { add(URL(fileURLWithPath: path).lastPathComponent, try EdgeList.load(path: path)) }
        for spec in synthetic {
            let parts = spec.split(separator: ":")
            guard parts.count == 2, let degree = Double(parts[1]) else {
                throw ValidationError("--synthetic: KIND:MEAN-DEGREE, e.g. chung-lu:10; got \(spec)")
            }
            let kind = String(parts[0])
            add(
                "\(kind) mean degree \(parts[1]), \(nodes) people, seed \(seed)",
                try EvalSuggestions.synthetic(kind, nodes: nodes, meanDegree: degree, seed: seed)
            )
        }
        guard examples.labels.contains(true) && examples.labels.contains(false) else {
            throw ValidationError("no hidden connection among the candidates: nothing to fit; give larger graphs")
        }
        let model = SuggestionTraining.fit(examples, version: version, fittedOn: sources)
        for (feature, weight) in zip(model.features, model.weights) {
            print("  \(feature.rawValue): \(String(format: "%+.4f", weight))")
        }
        let json = try model.encoded()
        if let out { try json.write(to: URL(fileURLWithPath: out)) }
        if let swift {
            // Indented as swift-format keeps a multi-line literal; the closing delimiter's indent is stripped.
            let body = String(decoding: json, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .map { "    " + $0 }.joined(separator: "\n")
            let source = """
                // The suggestion model Kith ships (issue 16 §2), written by `kith train-suggestions --swift`; do not edit by
                // hand. Fitted on public and synthetic graphs only, never on people's data.

                let shippedSuggestionModelJSON = #\"\"\"
                \(body)
                    \"\"\"#

                """
            try Data(source.utf8).write(to: URL(fileURLWithPath: swift))
        }
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
