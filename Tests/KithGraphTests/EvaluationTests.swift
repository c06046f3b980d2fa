import Foundation
import Testing

@testable import KithGraph

@Suite("Evaluation and inputs")
struct EvaluationTests {
    /// Disjoint 6-cliques: every held-out edge keeps its ends inside one clique with common neighbours, and nothing
    /// else is reachable in two hops, so every scorer must recover every held-out edge.
    static let cliqueEdges: [(NodeID, NodeID)] = (0..<30).flatMap { clique -> [(NodeID, NodeID)] in
        let first = NodeID(clique * 6)
        return (0..<6).flatMap { a in (a + 1..<6).map { b in (first + NodeID(a), first + NodeID(b)) } }
    }

    @Test("the split is a deterministic function of the seed and partitions the canonical edges")
    func splitDeterminism() {
        let edges = TestGraphs.randomEdges(nodeCount: 400, edgeCount: 3_000, seed: 8)
        let first = SuggestionEvaluation.split(edges: edges, holdout: 0.1, seed: 7, users: 50)
        let again = SuggestionEvaluation.split(edges: edges, holdout: 0.1, seed: 7, users: 50)
        let other = SuggestionEvaluation.split(edges: edges, holdout: 0.1, seed: 8, users: 50)
        func keys(_ edges: [(NodeID, NodeID)]) -> [UInt64] { edges.map { UInt64($0.0) << 32 | UInt64($0.1) } }

        #expect(keys(first.heldOut) == keys(again.heldOut))
        #expect(keys(first.training) == keys(again.training))
        #expect(first.users == again.users)
        #expect(keys(first.heldOut) != keys(other.heldOut))

        let canonical = Set(
            edges.filter { $0.0 != $0.1 }.map { UInt64(min($0.0, $0.1)) << 32 | UInt64(max($0.0, $0.1)) }
        )
        #expect(first.heldOut.count == Int((Double(canonical.count) * 0.1).rounded()))
        #expect(Set(keys(first.heldOut)).isDisjoint(with: keys(first.training)))
        #expect(Set(keys(first.heldOut)).union(keys(first.training)) == canonical)
        #expect(first.users.count == 50 && Set(first.users).count == 50)
        let endpoints = Set(first.heldOut.flatMap { [$0.0, $0.1] })
        #expect(first.users.allSatisfy { endpoints.contains($0) })
        #expect(first.nodeCount == 400)
    }

    @Test("recall and hit rate are 1 when every held-out edge is recoverable")
    func perfectRecallOnCliques() {
        let report = SuggestionEvaluation.run(edges: Self.cliqueEdges, holdout: 0.1, seed: 3, users: 1000, k: 10)
        #expect(report.heldOutEdgeCount == 45)
        #expect(report.evaluatedUserCount > 40)
        #expect(report.production.recall == 1 && report.production.hitRate == 1)
        #expect(report.baseline.recall == 1 && report.baseline.hitRate == 1)
        #expect(report.production.ndcg == 1 && report.baseline.ndcg == 1)
        #expect(report.description.contains("\nrecall@10: 1.0000\nhit-rate@10: 1.0000\n"))
        #expect(report.description.contains("baseline common-neighbours recall@10: 1.0000"))
    }

    @Test("NDCG@k weighs a hit by its rank and is 1 for the ideal list")
    func ndcgByRank() {
        #expect(SuggestionEvaluation.ndcg([true, true, false], relevant: 2, k: 10) == 1)
        #expect(SuggestionEvaluation.ndcg([false, false], relevant: 1, k: 10) == 0)
        // One relevant, found second: (1 / log2 3) / (1 / log2 2).
        #expect(abs(SuggestionEvaluation.ndcg([false, true], relevant: 1, k: 10) - 1 / log2(3)) < 1e-12)
        // More relevant than k: the ideal is k hits; a hit beyond k counts nothing.
        #expect(SuggestionEvaluation.ndcg([true], relevant: 5, k: 1) == 1)
        #expect(SuggestionEvaluation.ndcg([false, true], relevant: 5, k: 1) == 0)
    }

    @Test("the comparison measures every scorer on each seed's own split, as a single run does")
    func comparisonOverSeeds() {
        let edges = TestGraphs.randomEdges(nodeCount: 300, edgeCount: 2_400, seed: 4)
        let comparison = SuggestionEvaluation.compare(edges: edges, holdout: 0.1, seeds: [1, 2, 3], users: 100, k: 10)
        #expect(comparison.runs.map(\.seed) == [1, 2, 3])
        for run in comparison.runs {
            let single = SuggestionEvaluation.run(edges: edges, holdout: 0.1, seed: run.seed, users: 100, k: 10)
            #expect(run.quality(of: .resourceAllocation) == single.production)
            #expect(run.quality(of: .commonNeighbours) == single.baseline)
        }
        let recalls = comparison.runs.compactMap { $0.quality(of: .commonNeighbours)?.recall }
        let spread = comparison.spread(.commonNeighbours, \.recall)
        #expect(spread.low == recalls.min() && spread.high == recalls.max())
        #expect(abs(spread.mean - recalls.reduce(0, +) / 3) < 1e-12)
        #expect(comparison.recallRatio(.resourceAllocation, to: .resourceAllocation).mean == 1)
        #expect(comparison.description.contains("| resource-allocation (serving) |"))
    }

    @Test("recall counts the share of held-out edges found; k of 1 finds at most one per user")
    func partialRecall() {
        let report = SuggestionEvaluation.run(edges: Self.cliqueEdges, holdout: 0.3, seed: 3, users: 1000, k: 1)
        let split = SuggestionEvaluation.split(edges: Self.cliqueEdges, holdout: 0.3, seed: 3, users: 1000)
        var heldOutCounts: [NodeID: Int] = [:]
        for (a, b) in split.heldOut {
            heldOutCounts[a, default: 0] += 1
            heldOutCounts[b, default: 0] += 1
        }
        let expectedRecall = split.users.map { 1 / Double(heldOutCounts[$0]!) }.reduce(0, +) / Double(split.users.count)
        #expect(abs(report.production.recall - expectedRecall) < 1e-12)
        #expect(report.production.hitRate == 1)
    }

    @Test("edge lists skip comments and blank lines, accept tabs, commas and CRLF, and report bad lines")
    func edgeListParsing() throws {
        let text = "# SNAP style\n% matrix market style\n\n0 1\n1\t2\r\n  3,4 0.5\n7 7\n"
        let edges = try EdgeList.parse(text)
        #expect(edges.map { [$0.0, $0.1] } == [[0, 1], [1, 2], [3, 4], [7, 7]])
        #expect(throws: EdgeList.ParseError.malformedLine(lineNumber: 2)) { try EdgeList.parse("0 1\n2\n") }
        #expect(throws: EdgeList.ParseError.malformedLine(lineNumber: 1)) { try EdgeList.parse("a b\n") }
        #expect(throws: EdgeList.ParseError.nodeIDOutOfRange(lineNumber: 1)) { try EdgeList.parse("4294967296 1") }
    }

    @Test("SplitMix64 matches the reference sequence")
    func splitMix() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        var bounded = SplitMix64(seed: 1)
        #expect((0..<1_000).allSatisfy { _ in (0..<7).contains(bounded.next(below: 7)) })
    }

    @Test("Chung–Lu graphs are reproducible and heavy-tailed")
    func syntheticGraph() {
        let edges = SyntheticGraph.chungLu(userCount: 2_000, edgeCount: 20_000, seed: 1)
        #expect(edges.count == 20_000)
        let again = SyntheticGraph.chungLu(userCount: 2_000, edgeCount: 20_000, seed: 1)
        #expect(zip(edges, again).allSatisfy { $0 == $1 })
        let graph = CSRGraph(edges: edges, nodeCount: 2_000)
        let degrees = (0..<2_000).map { graph.degree(of: NodeID($0)) }.sorted()
        #expect(degrees.last! > 10 * degrees[1_000], "the top degree dwarfs the median")
    }

    @Test("the directory hands out dense IDs in order and maps both ways")
    func nodeDirectory() {
        var directory = NodeDirectory(userIDs: ["ada", "bob", "ada"])
        #expect(directory.count == 2)
        #expect(directory.nodeID(for: "cy") == 2)
        #expect(directory.nodeID(for: "bob") == 1)
        #expect(directory.existingNodeID(for: "dee") == nil)
        #expect(directory.userID(of: 2) == "cy")
        #expect(directory.userID(of: 3) == nil)
    }
}
