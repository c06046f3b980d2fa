/// A person three steps from the viewer, and what connects them (issue 16: full lists for sparse networks).
///
/// The path is viewer – a – b – candidate, where `a` is a connection of the viewer and `b` is two steps away;
/// both `a`'s and `b`'s connection lists must be visible (``SuggestionFilter/hides(_:)``). No one on the path
/// is named: the reason shown is the count of people two steps away the candidate is connected to.
public struct ThreeStepSuggestion: Sendable, Hashable {
    /// The suggested person.
    public var candidate: NodeID
    /// Resource Allocation over three steps: the sum over paths viewer – a – b – candidate of
    /// `1 / (degree(a) · degree(b))`. A path through people with few connections is strong evidence.
    public var score: Double
    /// How many people two steps from the viewer the candidate is connected to (the `b`s).
    public var bridgeCount: Int
    /// The candidate's number of connections: the tie-break after the score and the bridges.
    public var degree: Int

    public init(candidate: NodeID, score: Double, bridgeCount: Int, degree: Int) {
        self.candidate = candidate
        self.score = score
        self.bridgeCount = bridgeCount
        self.degree = degree
    }

    /// Fewer two-step candidates than this and a list is filled from three steps away: people with a handful
    /// of connections — newcomers — would otherwise get a short list.
    public static let fillBelow = 30

    /// Higher score first, then more bridges, then more connections; the node only when all of those tie.
    func ranksAbove(_ other: ThreeStepSuggestion) -> Bool {
        (score, bridgeCount, degree, other.candidate) > (other.score, other.bridgeCount, other.degree, candidate)
    }
}

extension AdjacencyReading {
    /// People three steps from `viewer` who are not two steps or less away, best first.
    ///
    /// Paths are expanded from the strongest two-step person down (the one whose paths weigh most), so when
    /// `pathBudget` stops the expansion early — a viewer near people with thousands of connections — what is
    /// left out is what would have added least.
    func rankThreeStep(
        for viewer: NodeID,
        k: Int,
        filter: SuggestionFilter,
        pathBudget: Int
    ) -> [ThreeStepSuggestion] {
        guard k > 0, Int(viewer) < nodeCount, degree(of: viewer) > 0 else { return [] }
        var near: Set<NodeID> = [viewer]
        var visible: [NodeID] = []
        withNeighbors(of: viewer) { connections in
            for connection in connections {
                near.insert(connection)
                if degree(of: connection) > 1 && !filter.hides(connection) { visible.append(connection) }
            }
        }
        // Two steps: each person's weight is the sum of 1/degree(a) over the visible connections a leading there.
        var twoStep: [NodeID: Double] = [:]
        var budget = pathBudget
        for connection in visible.sorted(by: { degree(of: $0) < degree(of: $1) }) where budget > 0 {
            let share = 1 / Double(degree(of: connection))
            withNeighbors(of: connection) { reached in
                budget -= reached.count
                for person in reached where !near.contains(person) { twoStep[person, default: 0] += share }
            }
        }
        // Three steps, strongest two-step person first.
        let bridges = twoStep.compactMap { person, weight -> (NodeID, Double)? in
            let personDegree = degree(of: person)
            // No path through a hidden list, nor through someone never to be suggested (blocked, dismissed,
            // opted out): their connections are not a reason either.
            guard personDegree > 1, !filter.hides(person), !filter.excludes(person) else { return nil }
            return (person, weight / Double(personDegree))
        }.sorted { ($0.1, $1.0) > ($1.1, $0.0) }
        var reached: [NodeID: (score: Double, bridges: Int)] = [:]
        budget = pathBudget
        for (bridge, share) in bridges where budget > 0 {
            withNeighbors(of: bridge) { candidates in
                budget -= candidates.count
                for candidate in candidates where !near.contains(candidate) && twoStep[candidate] == nil {
                    reached[candidate, default: (0, 0)].score += share
                    reached[candidate, default: (0, 0)].bridges += 1
                }
            }
        }
        var ranked = reached.map { candidate, value in
            ThreeStepSuggestion(
                candidate: candidate,
                score: value.score,
                bridgeCount: value.bridges,
                degree: degree(of: candidate)
            )
        }
        ranked.sort { $0.ranksAbove($1) }
        var kept: [ThreeStepSuggestion] = []
        for suggestion in ranked where kept.count < k && !filter.excludes(suggestion.candidate) {
            kept.append(suggestion)
        }
        return kept
    }
}

extension LiveSocialGraph {
    /// The most paths a three-step query expands at each of its two steps.
    public static let threeStepPathBudget = 1 << 18

    /// People three steps from `viewer` through visible connection lists, best first, on a snapshot; see
    /// ``ThreeStepSuggestion``. For viewers whose two-step candidates run short (issue 16).
    public func threeStepSuggestions(
        for viewer: NodeID,
        k: Int,
        filter: SuggestionFilter = .none,
        pathBudget: Int = LiveSocialGraph.threeStepPathBudget
    ) -> [ThreeStepSuggestion] {
        snapshot().rankThreeStep(for: viewer, k: k, filter: filter, pathBudget: pathBudget)
    }
}

extension CSRGraph {
    /// People three steps from `viewer` through visible connection lists, best first; see ``ThreeStepSuggestion``.
    public func threeStepSuggestions(
        for viewer: NodeID,
        k: Int,
        filter: SuggestionFilter = .none,
        pathBudget: Int = LiveSocialGraph.threeStepPathBudget
    ) -> [ThreeStepSuggestion] {
        rankThreeStep(for: viewer, k: k, filter: filter, pathBudget: pathBudget)
    }
}
