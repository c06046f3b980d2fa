@testable import KithGraph

/// Small reference implementations and fixtures shared by the tests.
enum TestGraphs {
    /// The hand-built graph of the scoring tests; viewer 0 has connections 1, 2, 3 and 10.
    ///
    ///     0 – 1, 2, 3, 10      1 – 4, 5      2 – 4      3 – 4, 5, 6, 7, 8      10 – 9      6 – 7
    ///
    /// Degrees: 1 → 3, 2 → 2, 3 → 6, 10 → 2. From viewer 0, Resource Allocation gives
    /// 4: 1/3 + 1/2 + 1/6 = 1 (mutuals 1, 2, 3), 5: 1/3 + 1/6 = 1/2 (mutuals 1, 3), 9: 1/2 (mutual 10),
    /// and 6, 7, 8: 1/6 each (mutual 3).
    static let handBuiltEdges: [(NodeID, NodeID)] = [
        (0, 1), (0, 2), (0, 3), (0, 10),
        (1, 4), (1, 5),
        (2, 4),
        (3, 4), (3, 5), (3, 6), (3, 7), (3, 8),
        (10, 9),
        (6, 7),
    ]

    static var handBuilt: CSRGraph { CSRGraph(edges: handBuiltEdges) }

    /// A seeded random edge list with repeats and self loops.
    static func randomEdges(nodeCount: Int, edgeCount: Int, seed: UInt64) -> [(NodeID, NodeID)] {
        var generator = SplitMix64(seed: seed)
        return (0..<edgeCount).map { _ in
            (NodeID(generator.next(below: nodeCount)), NodeID(generator.next(below: nodeCount)))
        }
    }

    /// Adjacency sets of an edge list, ignoring self loops.
    static func adjacencySets(_ edges: [(NodeID, NodeID)], nodeCount: Int) -> [Set<NodeID>] {
        var sets = [Set<NodeID>](repeating: [], count: nodeCount)
        for (a, b) in edges where a != b {
            sets[Int(a)].insert(b)
            sets[Int(b)].insert(a)
        }
        return sets
    }

    /// Reference Resource Allocation and Common Neighbours scores, by brute force in `Double`.
    static func referenceScores(
        adjacency: [Set<NodeID>],
        viewer: NodeID,
        hidden: Set<NodeID> = []
    ) -> [NodeID: (resourceAllocation: Double, mutuals: Set<NodeID>)] {
        var scores: [NodeID: (resourceAllocation: Double, mutuals: Set<NodeID>)] = [:]
        let friends = adjacency[Int(viewer)]
        for intermediary in friends where !hidden.contains(intermediary) {
            let share = 1 / Double(adjacency[Int(intermediary)].count)
            for candidate in adjacency[Int(intermediary)] where candidate != viewer && !friends.contains(candidate) {
                scores[candidate, default: (0, [])].resourceAllocation += share
                scores[candidate, default: (0, [])].mutuals.insert(intermediary)
            }
        }
        return scores
    }
}
