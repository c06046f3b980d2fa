import Testing

@testable import KithGraph

@Suite("Live graph with delta")
struct SocialGraphTests {
    @Test("add and remove update the merged view, including edges of the base")
    func addAndRemove() {
        var graph = SocialGraph(edges: [(0, 1), (1, 2)])
        func add(_ a: NodeID, _ b: NodeID) -> Bool { graph.addEdge(a, b) }
        func remove(_ a: NodeID, _ b: NodeID) -> Bool { graph.removeEdge(a, b) }
        #expect(add(0, 2))
        #expect(!add(2, 0), "already present")
        #expect(!add(1, 1), "self loop")
        #expect(!add(0, 1), "already in base")
        #expect(graph.neighbors(of: 0) == [1, 2])
        #expect(graph.degree(of: 2) == 2)
        #expect(graph.pendingChangeCount == 1)

        #expect(remove(1, 0))
        #expect(!remove(1, 0), "already removed")
        #expect(!graph.areConnected(0, 1))
        #expect(graph.neighbors(of: 1) == [2])
        #expect(graph.degree(of: 0) == 1)
        #expect(graph.edgeCount == 2)
        #expect(graph.pendingChangeCount == 2)

        #expect(add(0, 1), "re-adding a removed base edge cancels the removal")
        #expect(graph.pendingChangeCount == 1)
        #expect(remove(2, 0), "removing an added edge cancels the addition")
        #expect(graph.pendingChangeCount == 0)
        #expect(graph.neighbors(of: 0) == [1])
    }

    @Test("edges to new users grow the node count")
    func growth() {
        var graph = SocialGraph(edges: [(0, 1)])
        #expect(graph.nodeCount == 2)
        let added = graph.addEdge(1, 7)
        #expect(added)
        #expect(graph.nodeCount == 8)
        #expect(graph.neighbors(of: 7) == [1])
        graph.reserveNodes(upTo: 20)
        #expect(graph.nodeCount == 20)
        #expect(graph.degree(of: 19) == 0)
        graph.compact()
        #expect(graph.base.nodeCount == 20)
        #expect(graph.neighbors(of: 1) == [0, 7])
    }

    @Test("random changes agree with a reference before and after compaction, suggestions included")
    func compactionEquivalence() {
        let nodeCount = 120
        var graph = SocialGraph(edges: TestGraphs.randomEdges(nodeCount: nodeCount, edgeCount: 600, seed: 5))
        var reference = TestGraphs.adjacencySets(
            TestGraphs.randomEdges(nodeCount: nodeCount, edgeCount: 600, seed: 5),
            nodeCount: nodeCount
        )
        var generator = SplitMix64(seed: 99)
        for step in 0..<2_000 {
            let a = NodeID(generator.next(below: nodeCount))
            let b = NodeID(generator.next(below: nodeCount))
            if generator.next(below: 2) == 0 {
                let expected = a != b && !reference[Int(a)].contains(b)
                let added = graph.addEdge(a, b)
                #expect(added == expected, "step \(step)")
                if expected {
                    reference[Int(a)].insert(b)
                    reference[Int(b)].insert(a)
                }
            } else {
                let expected = reference[Int(a)].contains(b)
                let removed = graph.removeEdge(a, b)
                #expect(removed == expected, "step \(step)")
                reference[Int(a)].remove(b)
                reference[Int(b)].remove(a)
            }
        }
        #expect(graph.pendingChangeCount > 0)
        let before = (0..<nodeCount).map { graph.suggestions(for: NodeID($0), k: 5) }
        for node in 0..<nodeCount {
            #expect(graph.neighbors(of: NodeID(node)) == reference[node].sorted())
            #expect(graph.degree(of: NodeID(node)) == reference[node].count)
        }
        graph.compact()
        #expect(graph.pendingChangeCount == 0)
        #expect(graph.edgeCount == reference.reduce(0) { $0 + $1.count } / 2)
        let fromScratch = CSRGraph(edges: graph.base.edgeList(), nodeCount: nodeCount)
        #expect(graph.base.offsets == fromScratch.offsets && graph.base.neighbors == fromScratch.neighbors)
        for node in 0..<nodeCount {
            #expect(graph.base.neighbors(of: NodeID(node)).elementsEqual(reference[node].sorted()))
        }
        let after = (0..<nodeCount).map { graph.suggestions(for: NodeID($0), k: 5) }
        #expect(before == after)
    }

    @Test("needsCompaction trips at the threshold and compactIfNeeded clears it")
    func threshold() {
        var graph = SocialGraph(edges: [(0, 1)], compactionThreshold: 3)
        graph.addEdge(1, 2)
        graph.addEdge(2, 3)
        #expect(!graph.needsCompaction)
        let compactedEarly = graph.compactIfNeeded()
        #expect(!compactedEarly)
        graph.removeEdge(0, 1)
        #expect(graph.needsCompaction)
        let compacted = graph.compactIfNeeded()
        #expect(compacted)
        #expect(graph.pendingChangeCount == 0)
        #expect(graph.base.edgeList().map { [$0.0, $0.1] } == [[1, 2], [2, 3]])
    }
}

@Suite("Thread-safe live graph")
struct LiveSocialGraphTests {
    @Test("snapshots are unaffected by later writes")
    func snapshotIsolation() {
        let live = LiveSocialGraph(graph: SocialGraph(edges: [(0, 1)]))
        let before = live.snapshot()
        live.addEdge(1, 2)
        live.removeEdge(0, 1)
        #expect(before.neighbors(of: 1) == [0])
        #expect(live.neighbors(of: 1) == [2])
        #expect(live.degree(of: 0) == 0)
    }

    @Test("concurrent writers with automatic compaction lose nothing")
    func concurrentWritesAndCompaction() async {
        let live = LiveSocialGraph(graph: SocialGraph(compactionThreshold: 50))
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for index in 0..<300 {
                        let a = NodeID(writer * 1_000 + index)
                        live.addEdge(a, a + 1)
                        if index % 3 == 0 { live.removeEdge(a, a + 1) }
                        _ = live.suggestions(for: a, k: 3)
                    }
                }
            }
        }
        #expect(live.compact())
        let graph = live.snapshot()
        #expect(graph.edgeCount == 4 * 200)
        #expect(graph.pendingChangeCount == 0)
        #expect(graph.base.edgeCount == 4 * 200)
        for writer in 0..<4 {
            for index in 0..<300 {
                let a = NodeID(writer * 1_000 + index)
                #expect(graph.areConnected(a, a + 1) == (index % 3 != 0))
            }
        }
    }
}
