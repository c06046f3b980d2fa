/// How candidates for "people you may know" are scored from the mutual connections they share with the viewer.
///
/// The two-step scorers look only at paths viewer – mutual – candidate, so every score is explained by the mutual
/// connections listed in its ``Suggestion``.
public enum Scorer: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Resource Allocation: the sum over mutual connections `z` of `1 / degree(z)`. A mutual with few connections is
    /// strong evidence; a mutual who knows everyone is weak evidence. Ties go to more mutuals, then the lower node.
    case resourceAllocation = "resource-allocation"
    /// Common Neighbours: the number of mutual connections. The baseline; ties go to the lower node.
    case commonNeighbours = "common-neighbours"
    /// Resource Allocation, and for a viewer with fewer than ``ThreeStepSuggestion/fillBelow`` two-step
    /// candidates the list filled from three steps away, merged by score — what the service serves (issue 16).
    /// Ranking two steps, the graph engine scores it as Resource Allocation; the evaluation adds the fill.
    case resourceAllocationThreeSteps = "resource-allocation+three-steps"
    /// The learned ranker (issue 16 §2) fitted on the training part of each evaluation split only:
    /// ``LearnedRanking``'s pool reordered by a ``SuggestionModel`` from ``SuggestionTraining``. Ranking two
    /// steps, the graph engine scores the pool as Resource Allocation; the evaluation reorders it.
    case learned = "learned"
    /// The learned ranker with the model Kith ships, ``SuggestionModel/shipped``.
    case shippedModel = "shipped-model"

    /// The scorer used for serving and for the headline evaluation numbers.
    public static let production: Scorer = .resourceAllocation

    public var description: String { rawValue }
}

/// One "people you may know" suggestion for a viewer.
public struct Suggestion: Sendable, Hashable {
    /// How many mutual connections a suggestion names by default.
    public static let defaultNamedMutualLimit = 3

    /// The suggested person.
    public var candidate: NodeID
    /// The scorer's value; higher is better. Resource Allocation scores are rounded to the ranking resolution: 2⁻²⁹
    /// or finer for viewers with fewer than 512 connections, 2⁻¹⁷ below 8,192.
    public var score: Double
    /// The number of visible mutual connections between viewer and candidate.
    public var mutualCount: Int
    /// Up to the requested number of visible mutual connections, strongest evidence first (fewest connections, then
    /// lowest node).
    public var mutuals: [NodeID]

    /// Creates a suggestion.
    public init(candidate: NodeID, score: Double, mutualCount: Int, mutuals: [NodeID]) {
        self.candidate = candidate
        self.score = score
        self.mutualCount = mutualCount
        self.mutuals = mutuals
    }
}

/// Privacy and product rules applied while ranking suggestions.
///
/// Excluded candidates (blocked, dismissed, opted out) are never returned. Hidden intermediaries are people whose
/// connection list is private: no path goes through them, so they add no score, are not counted as mutuals and are
/// never named. They can still be suggested themselves, and are never suggested if already connected to the viewer.
public struct SuggestionFilter: Sendable {
    /// Candidates never to return.
    public var excludedCandidates: Set<NodeID>
    /// A further rule for candidates never to return, asked only for candidates that would make the top k.
    public var excludesCandidate: (@Sendable (NodeID) -> Bool)?
    /// Connections whose connection lists are hidden and must not be used as paths.
    public var hiddenIntermediaries: Set<NodeID>
    /// A further rule for hidden connection lists, asked once for each of the viewer's connections.
    public var hidesConnectionList: (@Sendable (NodeID) -> Bool)?

    /// Creates a filter; the default excludes and hides nothing.
    public init(
        excludedCandidates: Set<NodeID> = [],
        excludesCandidate: (@Sendable (NodeID) -> Bool)? = nil,
        hiddenIntermediaries: Set<NodeID> = [],
        hidesConnectionList: (@Sendable (NodeID) -> Bool)? = nil
    ) {
        self.excludedCandidates = excludedCandidates
        self.excludesCandidate = excludesCandidate
        self.hiddenIntermediaries = hiddenIntermediaries
        self.hidesConnectionList = hidesConnectionList
    }

    /// A filter that excludes and hides nothing.
    public static var none: SuggestionFilter { SuggestionFilter() }

    /// Whether `candidate` must not be returned.
    public func excludes(_ candidate: NodeID) -> Bool {
        excludedCandidates.contains(candidate) || excludesCandidate?(candidate) == true
    }

    /// Whether `intermediary`'s connection list is hidden, so it must not be used as a path.
    public func hides(_ intermediary: NodeID) -> Bool {
        hiddenIntermediaries.contains(intermediary) || hidesConnectionList?(intermediary) == true
    }
}
