/// The live friendship graph as a value: a CSR base plus a small delta of edges added or removed since the base was
/// built.
///
/// Reads merge the base and the delta on the fly; ``compact()`` folds the delta into a fresh ``CSRGraph`` once it
/// passes ``compactionThreshold`` changes. The delta keeps, for each touched node, sorted arrays of added neighbours
/// (edges not in the base) and removed neighbours (edges in the base), so a merged neighbour list stays one linear
/// merge. Copies are cheap (copy-on-write), which is what lets ``LiveSocialGraph`` hand readers snapshots.
public struct SocialGraph: Sendable {
    /// The changes touching one node since the base was built, both sorted ascending.
    struct NodeChanges: Sendable {
        /// Neighbours gained; none of them are base neighbours.
        var added: [NodeID] = []
        /// Base neighbours lost.
        var removed: [NodeID] = []

        var isEmpty: Bool { added.isEmpty && removed.isEmpty }
    }

    /// The delta size that ``needsCompaction`` waits for by default.
    public static let defaultCompactionThreshold = 65_536

    /// The compacted part of the graph.
    public private(set) var base: CSRGraph
    private var changesByNode: [NodeID: NodeChanges]
    /// Undirected edges currently recorded in the delta (additions plus removals).
    public private(set) var pendingChangeCount: Int
    /// How many pending changes make ``needsCompaction`` true.
    public var compactionThreshold: Int
    /// The number of nodes: at least the base's, grown by edges to new nodes and by ``reserveNodes(upTo:)``.
    public private(set) var nodeCount: Int
    /// The number of undirected edges in the merged view.
    public private(set) var edgeCount: Int

    /// Creates a live graph over `base` with an empty delta.
    public init(base: CSRGraph = CSRGraph(), compactionThreshold: Int = defaultCompactionThreshold) {
        self.base = base
        self.changesByNode = [:]
        self.pendingChangeCount = 0
        self.compactionThreshold = max(1, compactionThreshold)
        self.nodeCount = base.nodeCount
        self.edgeCount = base.edgeCount
    }

    /// Creates a live graph whose base is built from `edges` (see ``CSRGraph/init(edges:nodeCount:)``).
    public init(
        edges: [(NodeID, NodeID)],
        nodeCount: Int? = nil,
        compactionThreshold: Int = defaultCompactionThreshold
    ) {
        self.init(base: CSRGraph(edges: edges, nodeCount: nodeCount), compactionThreshold: compactionThreshold)
    }

    /// Whether the delta has grown past ``compactionThreshold``.
    public var needsCompaction: Bool { pendingChangeCount >= compactionThreshold }

    /// Grows ``nodeCount`` to at least `count`, for users who have joined but have no edges yet.
    public mutating func reserveNodes(upTo count: Int) {
        precondition(count <= Int(NodeID.max), "node count out of NodeID range")
        nodeCount = max(nodeCount, count)
    }

    /// Adds the undirected edge `a`–`b`; returns `false` for self loops and edges already present.
    @discardableResult
    public mutating func addEdge(_ a: NodeID, _ b: NodeID) -> Bool {
        guard a != b, !areConnected(a, b) else { return false }
        reserveNodes(upTo: Int(max(a, b)) + 1)
        if base.areConnected(a, b) {
            changesByNode[a, default: NodeChanges()].removeRemoval(of: b)
            changesByNode[b, default: NodeChanges()].removeRemoval(of: a)
            dropEmptyChanges(of: a, b)
            pendingChangeCount -= 1
        } else {
            SortedNodes.insert(b, into: &changesByNode[a, default: NodeChanges()].added)
            SortedNodes.insert(a, into: &changesByNode[b, default: NodeChanges()].added)
            pendingChangeCount += 1
        }
        edgeCount += 1
        return true
    }

    /// Removes the undirected edge `a`–`b`; returns `false` if there was no such edge.
    @discardableResult
    public mutating func removeEdge(_ a: NodeID, _ b: NodeID) -> Bool {
        guard a != b, areConnected(a, b) else { return false }
        if base.areConnected(a, b) {
            SortedNodes.insert(b, into: &changesByNode[a, default: NodeChanges()].removed)
            SortedNodes.insert(a, into: &changesByNode[b, default: NodeChanges()].removed)
            pendingChangeCount += 1
        } else {
            SortedNodes.remove(b, from: &changesByNode[a, default: NodeChanges()].added)
            SortedNodes.remove(a, from: &changesByNode[b, default: NodeChanges()].added)
            dropEmptyChanges(of: a, b)
            pendingChangeCount -= 1
        }
        edgeCount -= 1
        return true
    }

    /// Whether `a` and `b` are connected in the merged view.
    public func areConnected(_ a: NodeID, _ b: NodeID) -> Bool {
        if let changes = changesByNode[a] {
            if SortedNodes.contains(b, in: changes.added) { return true }
            if SortedNodes.contains(b, in: changes.removed) { return false }
        }
        return base.areConnected(a, b)
    }

    /// The number of neighbours of `node` in the merged view.
    @inline(__always)
    public func degree(of node: NodeID) -> Int {
        let baseDegree = base.degree(of: node)
        guard !changesByNode.isEmpty, let changes = changesByNode[node] else { return baseDegree }
        return baseDegree + changes.added.count - changes.removed.count
    }

    /// The sorted neighbours of `node` in the merged view.
    public func neighbors(of node: NodeID) -> [NodeID] {
        var merged: [NodeID] = []
        appendNeighbors(of: node, to: &merged)
        return merged
    }

    /// Builds a fresh CSR of the merged view, in time linear in nodes plus edges.
    public func compacted() -> CSRGraph {
        var offsets: [UInt32] = []
        offsets.reserveCapacity(nodeCount + 1)
        offsets.append(0)
        var neighbors: [NodeID] = []
        neighbors.reserveCapacity(2 * edgeCount)
        for node in 0..<nodeCount {
            appendNeighbors(of: NodeID(truncatingIfNeeded: node), to: &neighbors)
            offsets.append(UInt32(truncatingIfNeeded: neighbors.count))
        }
        return CSRGraph(validatedOffsets: offsets, neighbors: neighbors)
    }

    /// Folds the delta into a fresh base.
    public mutating func compact() {
        base = compacted()
        changesByNode = [:]
        pendingChangeCount = 0
    }

    /// Compacts if ``needsCompaction``; returns whether it did.
    @discardableResult
    public mutating func compactIfNeeded() -> Bool {
        guard needsCompaction else { return false }
        compact()
        return true
    }

    /// Appends the merged, sorted neighbours of `node`: base minus removals, united with additions.
    private func appendNeighbors(of node: NodeID, to output: inout [NodeID]) {
        let baseNeighbors = base.neighbors(of: node)
        guard let changes = changesByNode[node] else {
            output.append(contentsOf: baseNeighbors)
            return
        }
        var added = changes.added.makeIterator()
        var nextAdded = added.next()
        var removedIndex = changes.removed.startIndex
        for neighbor in baseNeighbors {
            while let pending = nextAdded, pending < neighbor {
                output.append(pending)
                nextAdded = added.next()
            }
            if removedIndex < changes.removed.endIndex && changes.removed[removedIndex] == neighbor {
                removedIndex += 1
                continue
            }
            output.append(neighbor)
        }
        while let pending = nextAdded {
            output.append(pending)
            nextAdded = added.next()
        }
    }

    private mutating func dropEmptyChanges(of a: NodeID, _ b: NodeID) {
        if changesByNode[a]?.isEmpty == true { changesByNode[a] = nil }
        if changesByNode[b]?.isEmpty == true { changesByNode[b] = nil }
    }
}

extension SocialGraph.NodeChanges {
    mutating func removeRemoval(of node: NodeID) {
        SortedNodes.remove(node, from: &removed)
    }
}

extension SocialGraph: AdjacencyReading {
    @inline(__always)
    func withNeighbors<Result>(
        of node: NodeID,
        _ body: (UnsafeBufferPointer<NodeID>) throws -> Result
    ) rethrows -> Result {
        guard !changesByNode.isEmpty, changesByNode[node] != nil else {
            return try base.withNeighbors(of: node, body)
        }
        return try neighbors(of: node).withUnsafeBufferPointer(body)
    }
}
