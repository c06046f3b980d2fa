/// An immutable undirected graph in compressed sparse row form: one flat, per-node sorted adjacency array.
///
/// Node `v`'s neighbours are `neighbors[offsets[v] ..< offsets[v + 1]]`, ascending and without repeats; every
/// undirected edge is stored twice, once from each end. Four-byte offsets and node IDs keep the graph at about eight
/// bytes per undirected edge plus four bytes per node, and cap it at `UInt32.max` directed entries (two billion edges).
public struct CSRGraph: Sendable {
    /// Where each node's neighbours start in ``neighbors``; has ``nodeCount`` + 1 entries, the last being the total.
    public let offsets: [UInt32]
    /// Every node's sorted neighbours, concatenated in node order.
    public let neighbors: [NodeID]

    /// Creates a graph with no nodes and no edges.
    public init() {
        offsets = [0]
        neighbors = []
    }

    /// Builds a graph from an undirected edge list, dropping self loops and repeated edges in either direction.
    ///
    /// Construction sorts by two counting-sort passes (bucket by one end, then stably by the other), so it is linear
    /// in edges plus nodes, uses no comparison sort, no dictionaries and no per-node arrays.
    ///
    /// - Parameters:
    ///   - edges: Pairs of node IDs; `(a, b)` and `(b, a)` are the same edge.
    ///   - nodeCount: The least number of nodes the graph should have; nodes beyond the highest ID in `edges` have no
    ///     neighbours. `nil` means one more than the highest ID in `edges`.
    public init(edges: [(NodeID, NodeID)], nodeCount minimumNodeCount: Int? = nil) {
        precondition(edges.count <= Int(UInt32.max) / 2, "too many edges for 32-bit offsets")
        var highestID = -1
        for (a, b) in edges {
            highestID = max(highestID, Int(max(a, b)))
        }
        let nodeCount = max(minimumNodeCount ?? 0, highestID + 1)

        // Pass 1: count each node's entries (repeats included), then turn the counts into start offsets.
        var offsets = [UInt32](repeating: 0, count: nodeCount + 1)
        edges.withUnsafeBufferPointer { edgeBuffer in
            offsets.withUnsafeMutableBufferPointer { starts in
                for (a, b) in edgeBuffer where a != b {
                    starts[Int(a) + 1] &+= 1
                    starts[Int(b) + 1] &+= 1
                }
                for node in 0..<nodeCount {
                    starts[node + 1] &+= starts[node]
                }
            }
        }
        let entryCount = Int(offsets[nodeCount])

        // Pass 2: bucket every entry under one end, in input order.
        var cursors = offsets
        let bucketed = [NodeID](unsafeUninitializedCapacity: entryCount) { buffer, initializedCount in
            edges.withUnsafeBufferPointer { edgeBuffer in
                cursors.withUnsafeMutableBufferPointer { next in
                    for (a, b) in edgeBuffer where a != b {
                        buffer[Int(next[Int(a)])] = b
                        next[Int(a)] &+= 1
                        buffer[Int(next[Int(b)])] = a
                        next[Int(b)] &+= 1
                    }
                }
            }
            initializedCount = entryCount
        }

        // Pass 3: walk the buckets in node order and re-bucket under the other end, so every list comes out sorted.
        // The graph is symmetric, so the second bucketing has the same offsets as the first.
        cursors = offsets
        var sorted = [NodeID](unsafeUninitializedCapacity: entryCount) { buffer, initializedCount in
            bucketed.withUnsafeBufferPointer { source in
                offsets.withUnsafeBufferPointer { starts in
                    cursors.withUnsafeMutableBufferPointer { next in
                        for node in 0..<nodeCount {
                            for index in Int(starts[node])..<Int(starts[node + 1]) {
                                let other = Int(source[index])
                                buffer[Int(next[other])] = NodeID(truncatingIfNeeded: node)
                                next[other] &+= 1
                            }
                        }
                    }
                }
            }
            initializedCount = entryCount
        }

        // Pass 4: squeeze out repeats in place; lists are sorted, so repeats are adjacent.
        var keptCount = 0
        sorted.withUnsafeMutableBufferPointer { entries in
            offsets.withUnsafeMutableBufferPointer { starts in
                var readStart = 0
                for node in 0..<nodeCount {
                    let readEnd = Int(starts[node + 1])
                    let writeStart = keptCount
                    starts[node] = UInt32(truncatingIfNeeded: writeStart)
                    for index in readStart..<readEnd {
                        let neighbor = entries[index]
                        if keptCount == writeStart || entries[keptCount - 1] != neighbor {
                            entries[keptCount] = neighbor
                            keptCount += 1
                        }
                    }
                    readStart = readEnd
                }
                starts[nodeCount] = UInt32(truncatingIfNeeded: keptCount)
            }
        }
        if keptCount < entryCount {
            sorted = Array(sorted[..<keptCount])
        }
        self.offsets = offsets
        self.neighbors = sorted
    }

    /// Wraps arrays already in CSR form: `offsets` non-decreasing from 0 to `neighbors.count`, lists sorted, unique
    /// and symmetric. Only checked in debug builds.
    init(validatedOffsets offsets: [UInt32], neighbors: [NodeID]) {
        assert(offsets.first == 0 && Int(offsets.last ?? 0) == neighbors.count, "offsets do not cover neighbors")
        self.offsets = offsets
        self.neighbors = neighbors
    }

    /// The number of nodes, including ones without neighbours.
    public var nodeCount: Int { offsets.count - 1 }

    /// The number of undirected edges.
    public var edgeCount: Int { neighbors.count / 2 }

    /// Bytes held by the offset and neighbour arrays, counted by their allocated capacity.
    public var bytesUsed: Int {
        (offsets.capacity + neighbors.capacity) * MemoryLayout<UInt32>.stride
    }

    /// The number of neighbours of `node`; 0 for nodes outside the graph.
    @inline(__always)
    public func degree(of node: NodeID) -> Int {
        let index = Int(node)
        guard index < nodeCount else { return 0 }
        return Int(offsets[index + 1] &- offsets[index])
    }

    /// The sorted neighbours of `node`, without copying; empty for nodes outside the graph.
    public func neighbors(of node: NodeID) -> ArraySlice<NodeID> {
        let index = Int(node)
        guard index < nodeCount else { return [] }
        return neighbors[Int(offsets[index])..<Int(offsets[index + 1])]
    }

    /// Whether `a` and `b` share an edge; a binary search in the shorter list.
    public func areConnected(_ a: NodeID, _ b: NodeID) -> Bool {
        let (from, to) = degree(of: a) <= degree(of: b) ? (a, b) : (b, a)
        return withNeighbors(of: from) { SortedNodes.contains(to, in: $0) }
    }

    /// Every undirected edge once, as `(lower, higher)`, in ascending order.
    public func edgeList() -> [(NodeID, NodeID)] {
        var edges: [(NodeID, NodeID)] = []
        edges.reserveCapacity(edgeCount)
        for node in 0..<nodeCount {
            let lower = NodeID(truncatingIfNeeded: node)
            for neighbor in neighbors(of: lower) where neighbor > lower {
                edges.append((lower, neighbor))
            }
        }
        return edges
    }
}

extension CSRGraph: AdjacencyReading {
    @inline(__always)
    func withNeighbors<Result>(
        of node: NodeID,
        _ body: (UnsafeBufferPointer<NodeID>) throws -> Result
    ) rethrows -> Result {
        let index = Int(node)
        guard index < nodeCount else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        let start = Int(offsets[index])
        let end = Int(offsets[index + 1])
        return try neighbors.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }
}

/// Read access to a symmetric graph with sorted adjacency, shared by the CSR base and the live graph's merged view.
protocol AdjacencyReading: Sendable {
    /// One more than the highest node that may have neighbours.
    var nodeCount: Int { get }
    /// The number of neighbours of a node.
    func degree(of node: NodeID) -> Int
    /// Calls `body` with the node's sorted neighbours; the buffer is valid only inside `body`.
    func withNeighbors<Result>(
        of node: NodeID,
        _ body: (UnsafeBufferPointer<NodeID>) throws -> Result
    ) rethrows -> Result
}

/// Helpers for ascending, repeat-free node lists.
enum SortedNodes {
    /// Binary search for `node` in an ascending buffer.
    static func contains(_ node: NodeID, in sortedNodes: UnsafeBufferPointer<NodeID>) -> Bool {
        insertionIndex(of: node, in: sortedNodes).found
    }

    /// Where `node` is, or where it would go to keep the buffer ascending.
    static func insertionIndex(
        of node: NodeID,
        in sortedNodes: UnsafeBufferPointer<NodeID>
    ) -> (index: Int, found: Bool) {
        var low = 0
        var high = sortedNodes.count
        while low < high {
            let middle = (low &+ high) >> 1
            if sortedNodes[middle] < node {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return (low, low < sortedNodes.count && sortedNodes[low] == node)
    }

    /// Inserts `node` into an ascending array unless it is already there; returns whether it was inserted.
    @discardableResult
    static func insert(_ node: NodeID, into sortedNodes: inout [NodeID]) -> Bool {
        let (index, found) = sortedNodes.withUnsafeBufferPointer { insertionIndex(of: node, in: $0) }
        if found { return false }
        sortedNodes.insert(node, at: index)
        return true
    }

    /// Removes `node` from an ascending array if it is there; returns whether it was removed.
    @discardableResult
    static func remove(_ node: NodeID, from sortedNodes: inout [NodeID]) -> Bool {
        let (index, found) = sortedNodes.withUnsafeBufferPointer { insertionIndex(of: node, in: $0) }
        if !found { return false }
        sortedNodes.remove(at: index)
        return true
    }

    /// Whether an ascending array holds `node`.
    static func contains(_ node: NodeID, in sortedNodes: [NodeID]) -> Bool {
        sortedNodes.withUnsafeBufferPointer { contains(node, in: $0) }
    }
}
