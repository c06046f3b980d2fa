import Testing

@testable import KithGraph

@Suite("People you may know")
struct SuggestionTests {
    let graph = TestGraphs.handBuilt

    @Test("Resource Allocation scores, order, tie-breaks and named mutuals on the hand-built graph")
    func resourceAllocation() {
        let suggestions = graph.suggestions(for: 0, k: 10, scorer: .resourceAllocation)
        #expect(suggestions.map(\.candidate) == [4, 5, 9, 6, 7, 8], "5 beats 9 on mutual count at equal score")
        let expectedScores = [1.0, 0.5, 0.5, 1.0 / 6, 1.0 / 6, 1.0 / 6]
        for (suggestion, expected) in zip(suggestions, expectedScores) {
            #expect(abs(suggestion.score - expected) < 1e-12, "candidate \(suggestion.candidate)")
        }
        #expect(suggestions.map(\.mutualCount) == [3, 2, 1, 1, 1, 1])
        #expect(suggestions[0].mutuals == [2, 1, 3], "fewest connections first")
        #expect(suggestions[1].mutuals == [1, 3])
        #expect(suggestions[2].mutuals == [10])
        #expect(suggestions[3].mutuals == [3])
    }

    @Test("Common Neighbours scores and order on the hand-built graph")
    func commonNeighbours() {
        let suggestions = graph.suggestions(for: 0, k: 10, scorer: .commonNeighbours)
        #expect(suggestions.map(\.candidate) == [4, 5, 6, 7, 8, 9])
        #expect(suggestions.map(\.score) == [3, 2, 1, 1, 1, 1])
        #expect(suggestions.map(\.mutualCount) == [3, 2, 1, 1, 1, 1])
    }

    @Test("at most k, best first; k of zero, isolated and unknown viewers give nothing")
    func topK() {
        #expect(graph.suggestions(for: 0, k: 2).map(\.candidate) == [4, 5])
        #expect(graph.suggestions(for: 0, k: 4).map(\.candidate) == [4, 5, 9, 6])
        #expect(graph.suggestions(for: 0, k: 0).isEmpty)
        #expect(CSRGraph(edges: [(0, 1)], nodeCount: 3).suggestions(for: 2, k: 5).isEmpty)
        #expect(graph.suggestions(for: 500, k: 5).isEmpty)
        #expect(graph.suggestions(for: 8, k: 10).map(\.candidate) == [0, 4, 5, 6, 7], "via 3 only")
    }

    @Test("named mutuals are capped but the count is complete")
    func namedMutualLimit() {
        var workspace = SuggestionWorkspace()
        let top = graph.suggestions(for: 0, k: 1, namedMutualLimit: 2, workspace: &workspace)
        #expect(top.first?.mutuals == [2, 1])
        #expect(top.first?.mutualCount == 3)
        let unnamed = graph.suggestions(for: 0, k: 1, namedMutualLimit: 0, workspace: &workspace)
        #expect(unnamed.first?.mutuals == [])
        #expect(unnamed.first?.mutualCount == 3)
    }

    @Test("hidden intermediaries add no score, are not counted and are never named")
    func hiddenIntermediaries() {
        let hidingTwo = graph.suggestions(for: 0, k: 10, filter: SuggestionFilter(hiddenIntermediaries: [2]))
        #expect(hidingTwo.map(\.candidate) == [4, 5, 9, 6, 7, 8])
        #expect(abs(hidingTwo[0].score - 0.5) < 1e-12, "1/3 + 1/6 without the path through 2")
        #expect(hidingTwo[0].mutualCount == 2)
        #expect(hidingTwo[0].mutuals == [1, 3])

        let hidingByRule = graph.suggestions(
            for: 0,
            k: 10,
            filter: SuggestionFilter(hidesConnectionList: { $0 == 3 || $0 == 10 })
        )
        #expect(hidingByRule.map(\.candidate) == [4, 5], "6, 7, 8 and 9 are reachable only through hidden people")
        #expect(hidingByRule.map(\.mutualCount) == [2, 1])
        #expect(hidingByRule.allSatisfy { !$0.mutuals.contains(3) && !$0.mutuals.contains(10) })
        #expect(abs(hidingByRule[0].score - (1.0 / 3 + 1.0 / 2)) < 1e-12)
    }

    @Test("excluded candidates, existing connections and the viewer are never returned")
    func exclusions() {
        let bySet = graph.suggestions(for: 0, k: 10, filter: SuggestionFilter(excludedCandidates: [4, 9]))
        #expect(bySet.map(\.candidate) == [5, 6, 7, 8])
        let byRule = graph.suggestions(for: 0, k: 2, filter: SuggestionFilter(excludesCandidate: { $0 < 6 }))
        #expect(byRule.map(\.candidate) == [9, 6], "the rule must not shrink the list below k")
        for viewer in 0..<graph.nodeCount {
            let node = NodeID(viewer)
            for suggestion in graph.suggestions(for: node, k: 20) {
                #expect(suggestion.candidate != node)
                #expect(!graph.areConnected(node, suggestion.candidate))
            }
        }
    }

    @Test("random graphs with hidden and excluded people agree with a brute-force reference; workspaces reset")
    func randomGraphsAgainstReference() {
        let nodeCount = 200
        let edges = TestGraphs.randomEdges(nodeCount: nodeCount, edgeCount: 1_500, seed: 21)
        let graph = CSRGraph(edges: edges, nodeCount: nodeCount)
        let adjacency = TestGraphs.adjacencySets(edges, nodeCount: nodeCount)
        var generator = SplitMix64(seed: 4)
        var workspace = SuggestionWorkspace()
        for viewer in stride(from: NodeID(0), to: NodeID(nodeCount), by: 3) {
            let hidden = Set((0..<10).map { _ in NodeID(generator.next(below: nodeCount)) })
            let excluded = Set((0..<10).map { _ in NodeID(generator.next(below: nodeCount)) })
            let filter = SuggestionFilter(excludedCandidates: excluded, hiddenIntermediaries: hidden)
            let reference = TestGraphs.referenceScores(adjacency: adjacency, viewer: viewer, hidden: hidden)
                .filter { !excluded.contains($0.key) }
            let suggestions = graph.suggestions(
                for: viewer,
                k: 8,
                filter: filter,
                namedMutualLimit: 100,
                workspace: &workspace
            )
            #expect(suggestions.count == min(8, reference.count))
            for suggestion in suggestions {
                guard let expected = reference[suggestion.candidate] else {
                    Issue.record("viewer \(viewer): unexpected candidate \(suggestion.candidate)")
                    continue
                }
                #expect(abs(suggestion.score - expected.resourceAllocation) < 1e-9)
                #expect(suggestion.mutualCount == expected.mutuals.count)
                #expect(Set(suggestion.mutuals) == expected.mutuals)
            }
            let bestMissed =
                reference.filter { entry in !suggestions.contains { $0.candidate == entry.key } }
                .map(\.value.resourceAllocation).max() ?? 0
            #expect(suggestions.allSatisfy { $0.score >= bestMissed - 1e-9 }, "viewer \(viewer) missed a better one")
            #expect(zip(suggestions, suggestions.dropFirst()).allSatisfy { $0.score >= $1.score - 1e-12 })
            let fresh = graph.suggestions(for: viewer, k: 8, filter: filter)
            #expect(fresh.map(\.candidate) == suggestions.map(\.candidate), "reused workspace must start clean")
        }
    }

    @Test("partitioned accumulation on a large graph ranks exactly like direct accumulation")
    func partitionedMatchesDirect() {
        // 70,000 nodes span three partitions; viewer 0's 30 connections reach 9,000 paths over 2,000 candidates.
        var generator = SplitMix64(seed: 17)
        var edges: [(NodeID, NodeID)] = (1...30).map { (0, NodeID($0)) }
        for hub in NodeID(1)...30 {
            for _ in 0..<300 {
                edges.append((hub, 100 + 34 * NodeID(generator.next(below: 2_000))))
            }
        }
        let graph = CSRGraph(edges: edges, nodeCount: 70_000)
        let filter = SuggestionFilter(excludedCandidates: [100, 134], hiddenIntermediaries: [7])
        var workspace = SuggestionWorkspace()
        for scorer in Scorer.allCases {
            let partitioned = workspace.rank(
                in: graph,
                for: 0,
                k: 50,
                scorer: scorer,
                filter: filter,
                namedMutualLimit: 5
            )
            let direct = workspace.rank(
                in: graph,
                for: 0,
                k: 50,
                scorer: scorer,
                filter: filter,
                namedMutualLimit: 5,
                allowsPartitioning: false
            )
            #expect(partitioned.count == 50)
            #expect(partitioned == direct)
        }
        let reference = TestGraphs.referenceScores(
            adjacency: TestGraphs.adjacencySets(edges, nodeCount: 70_000),
            viewer: 0,
            hidden: [7]
        )
        let best = reference.filter { ![100, 134].contains($0.key) }.map(\.value.resourceAllocation).max()!
        let top = graph.suggestions(for: 0, k: 1, filter: filter, workspace: &workspace)
        #expect(abs(top[0].score - best) < 1e-9)
        #expect(workspace.accumulators.allSatisfy { $0 == 0 }, "every touched accumulator is reset")
        #expect(workspace.connectionMarks.allSatisfy { $0 == 0 }, "every mark is cleared")
    }

    @Test("the live graph's merged view ranks like a CSR of the same edges")
    func deltaMatchesCSR() {
        var live = SocialGraph(edges: TestGraphs.handBuiltEdges)
        live.removeEdge(0, 2)
        live.addEdge(0, 11)
        live.addEdge(11, 9)
        var edges = TestGraphs.handBuiltEdges.filter { !($0 == (0, 2)) }
        edges += [(0, 11), (11, 9)]
        #expect(live.suggestions(for: 0, k: 10) == CSRGraph(edges: edges).suggestions(for: 0, k: 10))
        #expect(live.suggestions(for: 0, k: 10).map(\.candidate) == [9, 4, 5, 6, 7, 8])
    }

    @Test("the heap keeps the best k, higher key first, then lower node")
    func heapOrdering() {
        var heap = TopSuggestionHeap(capacity: 3)
        for (key, node) in [(5, 9), (7, 1), (5, 2), (1, 0), (7, 0), (6, 3)] as [(UInt64, NodeID)]
        where heap.admits(key: key, candidate: node) {
            heap.insert(key: key, packed: key, candidate: node)
        }
        #expect(heap.bestFirst().map(\.candidate) == [0, 1, 3])
        #expect(!heap.admits(key: 6, candidate: 4))
        #expect(heap.admits(key: 6, candidate: 2))
    }
}
