import Synchronization

/// The thread-safe, shared friendship graph the server talks to.
///
/// Writers apply edge changes under a short lock. Readers copy the current ``SocialGraph`` value under the same lock
/// (a few reference-count bumps thanks to copy-on-write) and run their query on that private snapshot with no lock
/// held, so a slow query never holds up writers. When the delta passes its threshold, the writer that notices
/// rebuilds the CSR from a snapshot outside the lock while other writes carry on; they are journaled and replayed onto
/// the new base in a final short lock.
public final class LiveSocialGraph: Sendable {
    private enum JournaledChange: Sendable {
        case add(NodeID, NodeID)
        case remove(NodeID, NodeID)
        case reserveNodes(Int)
    }

    private struct State: Sendable {
        var graph: SocialGraph
        /// Changes made since an in-flight compaction took its snapshot; `nil` when no compaction is running.
        var journal: [JournaledChange]?
    }

    private let state: Mutex<State>
    private let idleWorkspaces = Mutex<[SuggestionWorkspace]>([])
    private let maximumIdleWorkspaces: Int

    /// Creates a shared graph starting from `graph`.
    ///
    /// - Parameters:
    ///   - graph: The starting graph, including its compaction threshold.
    ///   - maximumIdleWorkspaces: How many suggestion workspaces to keep pooled between queries.
    public init(graph: SocialGraph = SocialGraph(), maximumIdleWorkspaces: Int = 8) {
        state = Mutex(State(graph: graph, journal: nil))
        self.maximumIdleWorkspaces = maximumIdleWorkspaces
    }

    /// An immutable copy of the current graph, for queries that need several consistent reads.
    public func snapshot() -> SocialGraph {
        state.withLock { $0.graph }
    }

    /// Adds the undirected edge `a`–`b`; returns `false` for self loops and existing edges. May compact afterwards.
    @discardableResult
    public func addEdge(_ a: NodeID, _ b: NodeID) -> Bool {
        let (added, shouldCompact) = state.withLock { state in
            let added = state.graph.addEdge(a, b)
            if added { state.journal?.append(.add(a, b)) }
            return (added, state.journal == nil && state.graph.needsCompaction)
        }
        if shouldCompact { compact() }
        return added
    }

    /// Removes the undirected edge `a`–`b`; returns `false` if there was none. May compact afterwards.
    @discardableResult
    public func removeEdge(_ a: NodeID, _ b: NodeID) -> Bool {
        let (removed, shouldCompact) = state.withLock { state in
            let removed = state.graph.removeEdge(a, b)
            if removed { state.journal?.append(.remove(a, b)) }
            return (removed, state.journal == nil && state.graph.needsCompaction)
        }
        if shouldCompact { compact() }
        return removed
    }

    /// Grows the node count to at least `count`, for users who have joined but have no edges yet.
    public func reserveNodes(upTo count: Int) {
        state.withLock { state in
            state.graph.reserveNodes(upTo: count)
            state.journal?.append(.reserveNodes(count))
        }
    }

    /// Folds the delta into a fresh CSR, building it outside the lock. Returns `false` if another compaction is
    /// already running (its result will include everything written so far).
    @discardableResult
    public func compact() -> Bool {
        let snapshot: SocialGraph? = state.withLock { state in
            guard state.journal == nil else { return nil }
            state.journal = []
            return state.graph
        }
        guard let snapshot else { return false }
        let freshBase = snapshot.compacted()
        state.withLock { state in
            var fresh = SocialGraph(base: freshBase, compactionThreshold: state.graph.compactionThreshold)
            fresh.reserveNodes(upTo: snapshot.nodeCount)
            for change in state.journal ?? [] {
                switch change {
                case .add(let a, let b): fresh.addEdge(a, b)
                case .remove(let a, let b): fresh.removeEdge(a, b)
                case .reserveNodes(let count): fresh.reserveNodes(upTo: count)
                }
            }
            state.graph = fresh
            state.journal = nil
        }
        return true
    }

    /// The sorted neighbours of `node`.
    public func neighbors(of node: NodeID) -> [NodeID] {
        snapshot().neighbors(of: node)
    }

    /// The number of neighbours of `node`.
    public func degree(of node: NodeID) -> Int {
        state.withLock { $0.graph.degree(of: node) }
    }

    /// Whether `a` and `b` are connected.
    public func areConnected(_ a: NodeID, _ b: NodeID) -> Bool {
        state.withLock { $0.graph.areConnected(a, b) }
    }

    /// Ranks "people you may know" for `viewer` on a snapshot, with a pooled workspace; see
    /// ``CSRGraph/suggestions(for:k:scorer:filter:namedMutualLimit:workspace:)``.
    public func suggestions(
        for viewer: NodeID,
        k: Int,
        scorer: Scorer = .production,
        filter: SuggestionFilter = .none,
        namedMutualLimit: Int = Suggestion.defaultNamedMutualLimit
    ) -> [Suggestion] {
        let graph = snapshot()
        var workspace = idleWorkspaces.withLock { $0.popLast() } ?? SuggestionWorkspace()
        let suggestions = graph.suggestions(
            for: viewer,
            k: k,
            scorer: scorer,
            filter: filter,
            namedMutualLimit: namedMutualLimit,
            workspace: &workspace
        )
        idleWorkspaces.withLock { idle in
            if idle.count < maximumIdleWorkspaces { idle.append(workspace) }
        }
        return suggestions
    }
}
