import ArgumentParser
import Foundation
import KithGraph

/// `kith eval-suggestions`: recall@k and hit-rate@k of the production scorer against Common Neighbours
/// on a held-out split of an undirected edge list.
struct EvalSuggestions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-suggestions",
        abstract: "Measure people-you-may-know quality on an edge list (hold out edges, rank, score)."
    )

    @Option(help: "Undirected edge list: two integer IDs per line.")
    var edges: String

    @Option(help: "Fraction of edges held out.")
    var holdout = 0.1

    @Option(help: "Seed of the split and of the user sample.")
    var seed: UInt64 = 7

    @Option(help: "Users evaluated (with at least one held-out edge).")
    var users = 1000

    @Option(help: "Suggestions per user.")
    var k = 10

    func run() throws {
        let list = try EdgeList.load(path: edges)
        let report = SuggestionEvaluation.run(edges: list, holdout: holdout, seed: seed, users: users, k: k)
        print(report)
    }
}

/// `kith bench suggestions`: the in-memory graph engine on a synthetic heavy-tailed graph.
struct SuggestionsBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suggestions")

    @Option(help: "Users in the synthetic graph.")
    var users = 1_000_000

    @Option(help: "Edges drawn for the synthetic graph.")
    var edges = 10_000_000

    @Option(help: "Seed of the synthetic graph.")
    var seed: UInt64 = 7

    func run() throws {
        var configuration = BenchmarkConfiguration()
        configuration.userCount = users
        configuration.edgeCount = edges
        configuration.seed = seed
        print(GraphBenchmark.run(configuration) { print("... \($0)") })
    }
}
