/// Reusable scratch memory for ranking suggestions: one per thread (or per concurrent request), reused across calls.
///
/// Holds a score accumulator per node, the list of nodes a query touched (so only those are reset afterwards), a bit
/// per node marking the viewer and their connections, and a buffer of two-hop paths for large queries. All of it is
/// back to zero between calls, so a workspace can serve any number of queries on any graph; it grows to the largest
/// graph it has seen: about 12.1 bytes per node, plus 8 bytes per path of the largest partitioned query (at most
/// 32 MiB).
public struct SuggestionWorkspace: Sendable {
    /// Per node: the fixed-point Resource Allocation sum in the high bits, the mutual count in the low bits.
    var accumulators: [UInt64]
    /// Nodes whose accumulator is non-zero, in first-touch order, plus one spare slot.
    var touched: [NodeID]
    /// One bit per node: set for the viewer and the viewer's connections during a query.
    var connectionMarks: [UInt64]
    /// Paths of a partitioned query, grouped by candidate partition: intermediary index above, candidate below.
    var paths: [UInt64]
    /// Per partition, where its paths start (during the count) and end (after the scatter).
    var partitionBounds: [Int]

    /// Creates a workspace, optionally sized up front for `nodeCount` nodes.
    public init(nodeCount: Int = 0) {
        accumulators = []
        touched = []
        connectionMarks = []
        paths = []
        partitionBounds = []
        reserve(nodeCount: nodeCount)
    }

    /// The number of nodes the workspace can currently serve without growing.
    public var nodeCapacity: Int { accumulators.count }

    /// Grows the buffers to cover `nodeCount` nodes.
    public mutating func reserve(nodeCount: Int) {
        guard nodeCount > accumulators.count else { return }
        accumulators.append(contentsOf: repeatElement(0, count: nodeCount - accumulators.count))
        // One spare slot: the hot loop writes a touched slot before knowing whether the node is new.
        touched.append(contentsOf: repeatElement(0, count: nodeCount + 1 - touched.count))
        let wordCount = (nodeCount + 63) / 64
        connectionMarks.append(contentsOf: repeatElement(0, count: wordCount - connectionMarks.count))
    }
}

extension CSRGraph {
    /// Ranks "people you may know" for `viewer`: two-hop candidates who are neither the viewer nor connected to them.
    ///
    /// - Parameters:
    ///   - viewer: The person the suggestions are for.
    ///   - k: The most suggestions to return.
    ///   - scorer: How to score candidates; the default is ``Scorer/production``.
    ///   - filter: Candidates to exclude and intermediaries whose connection lists are hidden.
    ///   - namedMutualLimit: The most mutual connections to name per suggestion; the count is always complete.
    ///   - workspace: Scratch memory owned by the caller; reuse it across calls on the same thread.
    /// - Returns: At most `k` suggestions, best first.
    public func suggestions(
        for viewer: NodeID,
        k: Int,
        scorer: Scorer = .production,
        filter: SuggestionFilter = .none,
        namedMutualLimit: Int = Suggestion.defaultNamedMutualLimit,
        workspace: inout SuggestionWorkspace
    ) -> [Suggestion] {
        workspace.rank(
            in: self,
            for: viewer,
            k: k,
            scorer: scorer,
            filter: filter,
            namedMutualLimit: namedMutualLimit
        )
    }

    /// Ranks suggestions with a freshly allocated workspace; convenient for one-off calls, wasteful in a loop.
    public func suggestions(
        for viewer: NodeID,
        k: Int,
        scorer: Scorer = .production,
        filter: SuggestionFilter = .none
    ) -> [Suggestion] {
        var workspace = SuggestionWorkspace(nodeCount: nodeCount)
        return suggestions(for: viewer, k: k, scorer: scorer, filter: filter, workspace: &workspace)
    }
}

extension SocialGraph {
    /// Ranks "people you may know" for `viewer` on the merged view; see
    /// ``CSRGraph/suggestions(for:k:scorer:filter:namedMutualLimit:workspace:)``.
    public func suggestions(
        for viewer: NodeID,
        k: Int,
        scorer: Scorer = .production,
        filter: SuggestionFilter = .none,
        namedMutualLimit: Int = Suggestion.defaultNamedMutualLimit,
        workspace: inout SuggestionWorkspace
    ) -> [Suggestion] {
        workspace.rank(
            in: self,
            for: viewer,
            k: k,
            scorer: scorer,
            filter: filter,
            namedMutualLimit: namedMutualLimit
        )
    }

    /// Ranks suggestions with a freshly allocated workspace; convenient for one-off calls, wasteful in a loop.
    public func suggestions(
        for viewer: NodeID,
        k: Int,
        scorer: Scorer = .production,
        filter: SuggestionFilter = .none
    ) -> [Suggestion] {
        var workspace = SuggestionWorkspace(nodeCount: nodeCount)
        return suggestions(for: viewer, k: k, scorer: scorer, filter: filter, workspace: &workspace)
    }
}

extension SuggestionWorkspace {
    /// Candidates are grouped in partitions of 2^15 consecutive nodes, whose accumulators (256 KiB) fit in L2.
    static let partitionShift: NodeID = 15
    /// Below this many paths, accumulating straight into the full array is as fast as partitioning.
    static let minimumPartitionedPaths = 4_096
    /// Above this many paths, the path buffer would grow past 32 MiB, so the query accumulates directly instead.
    static let maximumPartitionedPaths = 1 << 22

    /// The ranking hot path.
    ///
    /// Each visible connection `z` of the viewer pushes one packed increment (see ``AccumulatorLayout``) to every
    /// neighbour of `z`. One integer add per path updates both the Resource Allocation sum and the mutual count and
    /// touches one 8-byte slot per candidate; the sum is exact integer arithmetic, so independent of path order.
    ///
    /// On large graphs the paths are first bucketed by candidate partition (a counting pass and a scatter pass, both
    /// streaming), then accumulated and drained one partition at a time in the same 2^15 accumulator slots, so the
    /// random updates hit a 256 KiB block that stays in L2 instead of an array the size of the graph. The top k are
    /// the same either way: the heap keeps the best k under a strict total order.
    mutating func rank<Graph: AdjacencyReading>(
        in graph: Graph,
        for viewer: NodeID,
        k: Int,
        scorer: Scorer,
        filter: SuggestionFilter,
        namedMutualLimit: Int,
        allowsPartitioning: Bool = true
    ) -> [Suggestion] {
        let viewerDegree = graph.degree(of: viewer)
        guard k > 0, viewerDegree > 0, Int(viewer) < graph.nodeCount else { return [] }
        reserve(nodeCount: graph.nodeCount)
        let layout = AccumulatorLayout(viewerDegree: viewerDegree)

        // The viewer's connections usable as paths, and what one path through each adds.
        var intermediaries: [NodeID] = []
        var increments: [UInt64] = []
        intermediaries.reserveCapacity(viewerDegree)
        increments.reserveCapacity(viewerDegree)
        var pathCount = 0
        graph.withNeighbors(of: viewer) { connections in
            for connection in connections {
                let degree = graph.degree(of: connection)
                // A connection whose only connection is the viewer leads nowhere.
                if degree > 1 && !filter.hides(connection) {
                    intermediaries.append(connection)
                    increments.append(layout.increment(forIntermediaryDegree: degree))
                    pathCount += degree
                }
            }
        }

        let partitionShift = Self.partitionShift
        let partitionCount = (graph.nodeCount + (1 << Int(partitionShift)) - 1) >> Int(partitionShift)
        let isPartitioned =
            allowsPartitioning && partitionCount > 1
            && (Self.minimumPartitionedPaths...Self.maximumPartitionedPaths).contains(pathCount)
        if isPartitioned {
            if paths.count < pathCount { paths.append(contentsOf: repeatElement(0, count: pathCount - paths.count)) }
            if partitionBounds.count < partitionCount + 1 {
                partitionBounds.append(contentsOf: repeatElement(0, count: partitionCount + 1 - partitionBounds.count))
            }
        }

        var heap = TopSuggestionHeap(capacity: k)
        withScratchPointers { accumulators, touched, marks, paths, bounds in
            @inline(__always) func setMark(_ node: NodeID) {
                marks[Int(node &>> 6)] |= 1 &<< UInt64(node & 63)
            }
            @inline(__always) func clearMark(_ node: NodeID) {
                marks[Int(node &>> 6)] &= ~(1 &<< UInt64(node & 63))
            }
            @inline(__always) func isMarked(_ node: NodeID) -> Bool {
                marks[Int(node &>> 6)] & (1 &<< UInt64(node & 63)) != 0
            }

            /// Resets the touched accumulators and offers every eligible candidate to the heap. A candidate's slot is
            /// its node masked by `slotMask`.
            func drain(touchedCount: Int, slotMask: NodeID) {
                for index in 0..<touchedCount {
                    let candidate = touched[index]
                    let slot = Int(candidate & slotMask)
                    let packed = accumulators[slot]
                    accumulators[slot] = 0
                    if isMarked(candidate) { continue }
                    let key = layout.rankingKey(packed, scorer: scorer)
                    if heap.admits(key: key, candidate: candidate) && !filter.excludes(candidate) {
                        heap.insert(key: key, packed: packed, candidate: candidate)
                    }
                }
            }

            setMark(viewer)
            graph.withNeighbors(of: viewer) { connections in
                for connection in connections { setMark(connection) }
            }

            increments.withUnsafeBufferPointer { increments in
                guard isPartitioned else {
                    var touchedCount = 0
                    for (index, intermediary) in intermediaries.enumerated() {
                        touchedCount = graph.withNeighbors(of: intermediary) { reached in
                            Self.accumulate(
                                reached,
                                increment: increments[index],
                                into: accumulators,
                                touched: touched,
                                touchedCount: touchedCount
                            )
                        }
                    }
                    drain(touchedCount: touchedCount, slotMask: .max)
                    return
                }

                // Count paths per partition, then turn counts into start positions.
                for partition in 0...partitionCount { bounds[partition] = 0 }
                for intermediary in intermediaries {
                    graph.withNeighbors(of: intermediary) { reached in
                        for node in reached { bounds[Int(node &>> partitionShift) &+ 1] &+= 1 }
                    }
                }
                for partition in 0..<partitionCount { bounds[partition + 1] &+= bounds[partition] }
                // Scatter; each partition's start advances to its end, which is the next partition's start.
                for (index, intermediary) in intermediaries.enumerated() {
                    let tag = UInt64(index) &<< 32
                    graph.withNeighbors(of: intermediary) { reached in
                        for node in reached {
                            let partition = Int(node &>> partitionShift)
                            paths[bounds[partition]] = tag | UInt64(node)
                            bounds[partition] &+= 1
                        }
                    }
                }
                // Accumulate and drain each partition in the first 2^15 accumulators, which stay in L2 throughout.
                let slotMask: NodeID = (1 << partitionShift) - 1
                var start = 0
                for partition in 0..<partitionCount {
                    let end = bounds[partition]
                    let touchedCount = Self.accumulate(
                        UnsafeBufferPointer(start: paths + start, count: end - start),
                        slotMask: slotMask,
                        increments: increments.baseAddress!,
                        into: accumulators,
                        touched: touched
                    )
                    drain(touchedCount: touchedCount, slotMask: slotMask)
                    start = end
                }
            }

            clearMark(viewer)
            graph.withNeighbors(of: viewer) { connections in
                for connection in connections { clearMark(connection) }
            }
        }

        return heap.bestFirst().map { entry in
            let mutualCount = layout.mutualCount(entry.packed)
            let score = layout.score(ofKey: entry.key, scorer: scorer)
            let mutuals = Self.mutualsByStrength(in: graph, intermediaries: intermediaries, candidate: entry.candidate)
            assert(mutuals.count == mutualCount, "mutual count disagrees with the visible mutual connections")
            return Suggestion(
                candidate: entry.candidate,
                score: score,
                mutualCount: mutualCount,
                mutuals: Array(mutuals.prefix(max(0, namedMutualLimit)))
            )
        }
    }

    /// Calls `body` with base pointers of the scratch buffers, valid only inside `body`.
    private mutating func withScratchPointers(
        _ body: (
            _ accumulators: UnsafeMutablePointer<UInt64>, _ touched: UnsafeMutablePointer<NodeID>,
            _ marks: UnsafeMutablePointer<UInt64>, _ paths: UnsafeMutablePointer<UInt64>,
            _ partitionBounds: UnsafeMutablePointer<Int>
        ) -> Void
    ) {
        accumulators.withUnsafeMutableBufferPointer { accumulators in
            touched.withUnsafeMutableBufferPointer { touched in
                connectionMarks.withUnsafeMutableBufferPointer { marks in
                    paths.withUnsafeMutableBufferPointer { paths in
                        partitionBounds.withUnsafeMutableBufferPointer { bounds in
                            // Empty arrays may have no storage; a dangling pointer is fine as nothing is read.
                            let dangling = UnsafeMutableRawPointer(bitPattern: 8)!
                            body(
                                accumulators.baseAddress ?? dangling.assumingMemoryBound(to: UInt64.self),
                                touched.baseAddress ?? dangling.assumingMemoryBound(to: NodeID.self),
                                marks.baseAddress ?? dangling.assumingMemoryBound(to: UInt64.self),
                                paths.baseAddress ?? dangling.assumingMemoryBound(to: UInt64.self),
                                bounds.baseAddress ?? dangling.assumingMemoryBound(to: Int.self)
                            )
                        }
                    }
                }
            }
        }
    }

    /// Accumulates a partition's paths, each tagged with its intermediary's index, into the slots `node & slotMask`;
    /// returns the touched count.
    @inline(__always)
    static func accumulate(
        _ taggedPaths: UnsafeBufferPointer<UInt64>,
        slotMask: NodeID,
        increments: UnsafePointer<UInt64>,
        into accumulators: UnsafeMutablePointer<UInt64>,
        touched: UnsafeMutablePointer<NodeID>
    ) -> Int {
        var count = 0
        for path in taggedPaths {
            let node = NodeID(truncatingIfNeeded: path)
            let slot = Int(node & slotMask)
            let previous = accumulators[slot]
            accumulators[slot] = previous &+ increments[Int(truncatingIfNeeded: path &>> 32)]
            touched[count] = node
            count &+= Int(truncatingIfNeeded: (previous &- 1) &>> 63)
        }
        return count
    }

    /// Adds `increment` to the accumulator of every node in `reached`, appending first-touched nodes to `touched`;
    /// returns the new touched count.
    ///
    /// Branch-free on purpose: the touched slot is always written and the count advances by the top bit of
    /// `previous - 1`, which is set only for an untouched (zero) accumulator because packed values stay below 2⁶³.
    /// A data-dependent branch here mispredicts about half the time and stalls the loads behind it. Plain pointers
    /// and a returned count keep everything in registers.
    @inline(__always)
    static func accumulate(
        _ reached: UnsafeBufferPointer<NodeID>,
        increment: UInt64,
        into accumulators: UnsafeMutablePointer<UInt64>,
        touched: UnsafeMutablePointer<NodeID>,
        touchedCount: Int
    ) -> Int {
        var count = touchedCount
        for node in reached {
            let slot = Int(node)
            let previous = accumulators[slot]
            accumulators[slot] = previous &+ increment
            touched[count] = node
            count &+= Int(truncatingIfNeeded: (previous &- 1) &>> 63)
        }
        return count
    }

    /// The visible mutual connections of a candidate, strongest evidence first: fewest connections, then lowest node.
    static func mutualsByStrength<Graph: AdjacencyReading>(
        in graph: Graph,
        intermediaries: [NodeID],
        candidate: NodeID
    ) -> [NodeID] {
        var mutuals: [(degree: Int, node: NodeID)] = []
        graph.withNeighbors(of: candidate) { candidateConnections in
            var mine = 0
            var theirs = 0
            while mine < intermediaries.count && theirs < candidateConnections.count {
                let a = intermediaries[mine]
                let b = candidateConnections[theirs]
                if a < b {
                    mine += 1
                } else if b < a {
                    theirs += 1
                } else {
                    mutuals.append((graph.degree(of: a), a))
                    mine += 1
                    theirs += 1
                }
            }
        }
        mutuals.sort { $0.degree != $1.degree ? $0.degree < $1.degree : $0.node < $1.node }
        return mutuals.map(\.node)
    }
}

/// How one query packs a candidate's Resource Allocation sum and mutual count into a single `UInt64`.
///
/// With `c` bits to hold the viewer's degree `n`, the low `c` bits count mutuals and the high bits hold the sum of
/// shares `1 / degree(z)` in fixed point with `64 - 2c` fraction bits. A sum is at most `n / 2`, since every mutual
/// has at least two connections, so packed values stay below 2⁶³ (the hot loop relies on it). Shares are rounded to
/// the nearest unit, so a sum can be off by up to `n / 2` units; candidates are therefore ranked on the sum rounded to
/// a quantum of `2^(c + 8)` units, which makes mathematically equal scores (1/3 + 1/6 against 1/2) tie and fall to
/// the tie-break, short of rare boundary cases. The ranking resolution is 2⁻²⁹ or finer below 512 connections and
/// 2⁻¹⁷ below 8,192.
struct AccumulatorLayout {
    let countBits: Int
    let fractionBits: Int
    let quantumBits: Int

    init(viewerDegree: Int) {
        countBits = UInt64.bitWidth - UInt64(viewerDegree).leadingZeroBitCount
        fractionBits = max(1, 64 - 2 * countBits)
        quantumBits = min(countBits + 8, fractionBits)
    }

    /// What one path through an intermediary with `degree` connections adds: its share above the count, plus 1.
    @inline(__always)
    func increment(forIntermediaryDegree degree: Int) -> UInt64 {
        let divisor = UInt64(degree)
        let share = ((1 &<< UInt64(fractionBits)) &+ divisor / 2) / divisor
        return share &<< UInt64(countBits) | 1
    }

    @inline(__always)
    func mutualCount(_ packed: UInt64) -> Int {
        Int(packed & ((1 &<< UInt64(countBits)) &- 1))
    }

    /// The value candidates are ranked by, higher first: the quantized score then the count, or just the count.
    @inline(__always)
    func rankingKey(_ packed: UInt64, scorer: Scorer) -> UInt64 {
        let count = packed & ((1 &<< UInt64(countBits)) &- 1)
        switch scorer {
        case .resourceAllocation, .resourceAllocationThreeSteps, .learned, .shippedModel:
            let sum = packed &>> UInt64(countBits)
            let quantized = (sum &+ (1 &<< UInt64(quantumBits - 1))) &>> UInt64(quantumBits)
            return quantized &<< UInt64(countBits) | count
        case .commonNeighbours:
            return count
        }
    }

    /// The reported score of a ranking key.
    func score(ofKey key: UInt64, scorer: Scorer) -> Double {
        switch scorer {
        case .resourceAllocation, .resourceAllocationThreeSteps, .learned, .shippedModel:
            Double(key >> UInt64(countBits)) * Double(sign: .plus, exponent: quantumBits - fractionBits, significand: 1)
        case .commonNeighbours:
            Double(key)
        }
    }
}

/// A fixed-capacity min-heap keeping the best `capacity` candidates seen: higher key first, then lower node.
struct TopSuggestionHeap {
    struct Entry {
        var key: UInt64
        var packed: UInt64
        var candidate: NodeID
    }

    let capacity: Int
    private var entries: [Entry] = []

    init(capacity: Int) {
        self.capacity = capacity
        entries.reserveCapacity(min(capacity, 1024))
    }

    @inline(__always)
    static func ranksAbove(_ key: UInt64, _ candidate: NodeID, _ other: Entry) -> Bool {
        key != other.key ? key > other.key : candidate < other.candidate
    }

    /// Whether a candidate with this key would enter the heap.
    @inline(__always)
    func admits(key: UInt64, candidate: NodeID) -> Bool {
        entries.count < capacity || Self.ranksAbove(key, candidate, entries[0])
    }

    /// Inserts an admitted candidate, evicting the worst one when full.
    mutating func insert(key: UInt64, packed: UInt64, candidate: NodeID) {
        let entry = Entry(key: key, packed: packed, candidate: candidate)
        if entries.count < capacity {
            entries.append(entry)
            siftUp(from: entries.count - 1)
        } else {
            entries[0] = entry
            siftDown(from: 0)
        }
    }

    /// The kept entries, best first.
    func bestFirst() -> [Entry] {
        entries.sorted { Self.ranksAbove($0.key, $0.candidate, $1) }
    }

    /// Whether `a` should sit above `b` in the min-heap, i.e. ranks below it.
    @inline(__always)
    private func isWorse(_ a: Entry, _ b: Entry) -> Bool {
        Self.ranksAbove(b.key, b.candidate, a)
    }

    private mutating func siftUp(from start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard isWorse(entries[child], entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var worst = left
            let right = left + 1
            if right < entries.count && isWorse(entries[right], entries[left]) { worst = right }
            guard isWorse(entries[worst], entries[parent]) else { return }
            entries.swapAt(worst, parent)
            parent = worst
        }
    }
}
