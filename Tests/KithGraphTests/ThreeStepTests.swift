import Testing

@testable import KithGraph

@Suite("People three steps away (issue 16)")
struct ThreeStepTests {
    /// 0 – 1; 1 – 2, 1 – 3; 2 – 4, 2 – 5, 3 – 5; 6 – 5. Two steps from 0: 2 and 3; three steps: 4 and 5.
    let graph = CSRGraph(edges: [(0, 1), (1, 2), (1, 3), (2, 4), (2, 5), (3, 5), (6, 5)])

    @Test("PYM-04 scores are Resource Allocation over three steps; ties go to more bridges, then more connections")
    func scoresAndOrder() {
        let found = graph.threeStepSuggestions(for: 0, k: 10)
        #expect(found.map(\.candidate) == [5, 4])
        // 5: via 2 (1/3 · 1/3) and via 3 (1/3 · 1/2); 4: via 2 only.
        #expect(abs(found[0].score - (1.0 / 9 + 1.0 / 6)) < 1e-12)
        #expect(abs(found[1].score - 1.0 / 9) < 1e-12)
        #expect(found.map(\.bridgeCount) == [2, 1])
        // Through 2 alone, 4 and 5 score the same and have one bridge each: 5 has more connections.
        let tied = graph.threeStepSuggestions(for: 0, k: 10, filter: SuggestionFilter(hiddenIntermediaries: [3]))
        #expect(tied.map(\.candidate) == [5, 4])
        #expect(tied[0].score == tied[1].score && tied[0].bridgeCount == tied[1].bridgeCount)
        #expect(graph.threeStepSuggestions(for: 0, k: 1).map(\.candidate) == [5])
    }

    @Test("PYM-04 no path through a hidden list or an excluded person; excluded people are not suggested")
    func rules() {
        #expect(graph.threeStepSuggestions(for: 0, k: 10, filter: SuggestionFilter(hiddenIntermediaries: [1])).isEmpty)
        let withoutTwo = graph.threeStepSuggestions(for: 0, k: 10, filter: SuggestionFilter(hiddenIntermediaries: [2]))
        #expect(withoutTwo.map(\.candidate) == [5], "4 is reached only through 2's list")
        #expect(
            graph.threeStepSuggestions(for: 0, k: 10, filter: SuggestionFilter(excludedCandidates: [5])).map(
                \.candidate
            ) == [4]
        )
        #expect(
            graph.threeStepSuggestions(for: 0, k: 10, filter: SuggestionFilter(excludedCandidates: [2])).map(
                \.candidate
            ) == [5]
        )
        #expect(graph.threeStepSuggestions(for: 6, k: 10).map(\.candidate) == [1, 4], "0 is four steps from 6")
        #expect(graph.threeStepSuggestions(for: 0, k: 0).isEmpty)
        #expect(graph.threeStepSuggestions(for: 99, k: 5).isEmpty)
    }

    @Test(
        "three-step scores equal a brute-force count of every path on random graphs",
        arguments: [1, 2, 3, 4, 5] as [UInt64]
    )
    func matchesBruteForce(seed: UInt64) {
        let nodeCount = 300
        let edges = TestGraphs.randomEdges(nodeCount: nodeCount, edgeCount: 900, seed: seed)
        let graph = CSRGraph(edges: edges, nodeCount: nodeCount)
        let adjacency = TestGraphs.adjacencySets(edges, nodeCount: nodeCount)
        for viewer in NodeID(0)..<NodeID(40) {
            let near = adjacency[Int(viewer)].union([viewer])
            let two = Set(adjacency[Int(viewer)].flatMap { adjacency[Int($0)] }).subtracting(near)
            var expected: [NodeID: (Double, Set<NodeID>)] = [:]
            for a in adjacency[Int(viewer)] where adjacency[Int(a)].count > 1 {
                for b in adjacency[Int(a)] where two.contains(b) && adjacency[Int(b)].count > 1 {
                    for c in adjacency[Int(b)] where !near.contains(c) && !two.contains(c) {
                        let share = 1 / Double(adjacency[Int(a)].count * adjacency[Int(b)].count)
                        expected[c, default: (0, [])].0 += share
                        expected[c, default: (0, [])].1.insert(b)
                    }
                }
            }
            let found = graph.threeStepSuggestions(for: viewer, k: nodeCount, pathBudget: .max)
            #expect(Set(found.map(\.candidate)) == Set(expected.keys), "viewer \(viewer)")
            for suggestion in found {
                let (score, bridges) = expected[suggestion.candidate] ?? (0, [])
                #expect(abs(suggestion.score - score) < 1e-9, "viewer \(viewer), candidate \(suggestion.candidate)")
                #expect(suggestion.bridgeCount == bridges.count)
            }
            #expect(zip(found, found.dropFirst()).allSatisfy { $0.ranksAbove($1) })
        }
    }

    @Test("the evaluated serving ranker fills a short two-step list from three steps away, merged by score")
    func evaluatedFill() {
        var workspace = SuggestionWorkspace()
        let filled = SuggestionEvaluation.rank(
            0,
            in: graph,
            k: 10,
            scorer: .resourceAllocationThreeSteps,
            workspace: &workspace
        )
        // 2 and 3 score 1/3 each (one mutual of three connections); 5 scores 5/18 and 4 scores 1/9.
        #expect(filled == [2, 3, 5, 4])
        #expect(
            SuggestionEvaluation.rank(0, in: graph, k: 3, scorer: .resourceAllocationThreeSteps, workspace: &workspace)
                == [2, 3, 5]
        )
        #expect(
            SuggestionEvaluation.rank(0, in: graph, k: 10, scorer: .resourceAllocation, workspace: &workspace) == [
                2, 3,
            ]
        )
    }
}
