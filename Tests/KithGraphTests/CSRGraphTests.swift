import Testing

@testable import KithGraph

@Suite("CSR graph")
struct CSRGraphTests {
    @Test("drops repeats in either direction and self loops, and stores both directions")
    func dedupeAndSelfLoops() {
        let graph = CSRGraph(edges: [(0, 1), (1, 0), (0, 1), (2, 2), (1, 2), (3, 1), (2, 1)])
        #expect(graph.nodeCount == 4)
        #expect(graph.edgeCount == 3)
        #expect(graph.offsets == [0, 1, 4, 5, 6])
        #expect(graph.neighbors == [1, 0, 2, 3, 1, 1])
        #expect(Array(graph.neighbors(of: 1)) == [0, 2, 3])
        #expect(graph.degree(of: 2) == 1)
        #expect(!graph.areConnected(2, 2))
        #expect(graph.areConnected(3, 1) && graph.areConnected(1, 3))
        #expect(!graph.areConnected(0, 3))
    }

    @Test("nodes beyond the edge list exist with no neighbours; unknown nodes read as empty")
    func isolatedAndUnknownNodes() {
        let graph = CSRGraph(edges: [(0, 1)], nodeCount: 5)
        #expect(graph.nodeCount == 5)
        #expect(graph.degree(of: 4) == 0)
        #expect(graph.neighbors(of: 4).isEmpty)
        #expect(graph.degree(of: 99) == 0)
        #expect(graph.neighbors(of: 99).isEmpty)
        #expect(!graph.areConnected(0, 99))
        let empty = CSRGraph(edges: [])
        #expect(empty.nodeCount == 0 && empty.edgeCount == 0)
    }

    @Test("matches a set-based reference on a random multigraph: sorted, unique, symmetric")
    func randomGraphMatchesReference() {
        let nodeCount = 300
        let edges = TestGraphs.randomEdges(nodeCount: nodeCount, edgeCount: 3_000, seed: 11)
        let graph = CSRGraph(edges: edges, nodeCount: nodeCount)
        let reference = TestGraphs.adjacencySets(edges, nodeCount: nodeCount)
        #expect(graph.edgeCount == reference.reduce(0) { $0 + $1.count } / 2)
        for node in 0..<nodeCount {
            let neighbors = Array(graph.neighbors(of: NodeID(node)))
            #expect(neighbors == reference[node].sorted(), "node \(node)")
            for neighbor in neighbors {
                #expect(graph.areConnected(neighbor, NodeID(node)))
            }
        }
        let rebuilt = CSRGraph(edges: graph.edgeList(), nodeCount: nodeCount)
        #expect(rebuilt.offsets == graph.offsets && rebuilt.neighbors == graph.neighbors)
    }

    @Test("uses at most 10 bytes per undirected edge")
    func memoryPerEdge() {
        let graph = CSRGraph(edges: SyntheticGraph.chungLu(userCount: 5_000, edgeCount: 50_000, seed: 3))
        let bytesPerEdge = Double(graph.bytesUsed) / Double(graph.edgeCount)
        #expect(graph.edgeCount > 45_000)
        #expect(bytesPerEdge >= 8 && bytesPerEdge <= 10)
    }
}
