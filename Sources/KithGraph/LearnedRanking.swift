import Foundation

/// The pair signals the learned ranker weighs for one viewer and one candidate (issue 16 §2).
///
/// Every feature is computed from the graph alone, through connections the viewer may see
/// (``SuggestionFilter/hides(_:)``), by ``AdjacencyReading/rankingFeatures(for:candidates:filter:pathBudget:)``;
/// the same code computes them for training, evaluation and serving. The reason a person is shown stays the
/// strongest honest signal (PYM-04): the features only order the list.
public enum RankingFeature: String, CaseIterable, Codable, Sendable {
    /// Σ over mutual connections z of 1 / degree(z).
    case resourceAllocation = "resource-allocation"
    /// Σ over mutual connections z of 1 / log(degree(z)).
    case adamicAdar = "adamic-adar"
    /// The number of mutual connections.
    case commonNeighbours = "common-neighbours"
    /// Mutual connections over the union of both connection lists.
    case jaccard
    /// log(1 + the candidate's connections).
    case candidateDegree = "log-candidate-degree"
    /// log(1 + the viewer's connections).
    case viewerDegree = "log-viewer-degree"
    /// log(1 + the number of paths viewer – a – b – candidate).
    case threeStepPaths = "log-three-step-paths"
    /// Σ over paths viewer – a – b – candidate of 1 / (degree(a) · degree(b)).
    case threeStepResourceAllocation = "three-step-resource-allocation"
    /// Resource Allocation over the best Resource Allocation among the candidates.
    case resourceAllocationShare = "resource-allocation-share"
    /// Three-step Resource Allocation over the best among the candidates.
    case threeStepShare = "three-step-share"
    /// Log three-step paths over the most among the candidates.
    case threeStepPathShare = "three-step-path-share"
    /// Adamic–Adar over the best among the candidates.
    case adamicAdarShare = "adamic-adar-share"
    /// log(1 + the place by Resource Allocation among the candidates), 0 for the first.
    case resourceAllocationPlace = "log-resource-allocation-place"
}

/// A logistic model over ``RankingFeature``s: the probability that the viewer and the candidate are connected.
///
/// The versioned file the server loads (``shipped``, or a file named by configuration); written by
/// `kith train-suggestions`. Features are standardised with the training set's mean and spread before the
/// weights apply, so the weights compare.
public struct SuggestionModel: Codable, Sendable, Equatable {
    /// The format of this file; a server refuses a model of another format.
    public static let format = "kith-suggestion-model-1"

    public var format: String
    /// Names this fit, e.g. `"2026-12-04 shipped"`: shown in the evaluation and in the log of a fit.
    public var version: String
    /// What it was fitted on: graph names and sizes, never people.
    public var fittedOn: [String]
    /// The feature order of `mean`, `spread` and `weights`.
    public var features: [RankingFeature]
    public var mean: [Double]
    public var spread: [Double]
    public var weights: [Double]
    public var intercept: Double

    public init(
        version: String,
        fittedOn: [String],
        features: [RankingFeature],
        mean: [Double],
        spread: [Double],
        weights: [Double],
        intercept: Double
    ) {
        self.format = Self.format
        self.version = version
        self.fittedOn = fittedOn
        self.features = features
        self.mean = mean
        self.spread = spread
        self.weights = weights
        self.intercept = intercept
    }

    /// A model read from JSON; refuses another format or a model whose lists disagree in length.
    public static func decode(_ data: Data) throws -> SuggestionModel {
        let model = try JSONDecoder().decode(SuggestionModel.self, from: data)
        guard model.format == format else { throw ModelError.unknownFormat(model.format) }
        let count = model.features.count
        guard count > 0, model.mean.count == count, model.spread.count == count, model.weights.count == count,
            model.spread.allSatisfy({ $0 > 0 && $0.isFinite }),
            (model.mean + model.weights + [model.intercept]).allSatisfy(\.isFinite)
        else { throw ModelError.malformed }
        return model
    }

    /// The model as the file `kith train-suggestions` writes: sorted keys, one line per list.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public enum ModelError: Error, CustomStringConvertible {
        case unknownFormat(String)
        case malformed

        public var description: String {
            switch self {
            case .unknownFormat(let format): "suggestion model: format \(format) is not \(SuggestionModel.format)"
            case .malformed: "suggestion model: the feature, mean, spread and weight lists must agree and be finite"
            }
        }
    }

    /// The log-odds of a connection given one candidate's features, in ``RankingFeature/allCases`` order. Ranks
    /// as ``probability(_:)`` does, without its rounding to 1 for strong candidates.
    public func logit(_ values: [Double]) -> Double {
        var logit = intercept
        for (index, feature) in features.enumerated() {
            let value = values[RankingFeature.index(feature)]
            logit += weights[index] * (value - mean[index]) / spread[index]
        }
        return logit
    }

    /// The probability of a connection given one candidate's features, in ``RankingFeature/allCases`` order.
    public func probability(_ values: [Double]) -> Double { 1 / (1 + exp(-logit(values))) }

    /// The model shipped with Kith, fitted on public and synthetic graphs only (never on people's data).
    public static let shipped: SuggestionModel = {
        do {
            return try decode(Data(shippedSuggestionModelJSON.utf8))
        } catch {
            preconditionFailure("the shipped suggestion model does not decode: \(error)")
        }
    }()
}

extension RankingFeature {
    private static let indices = Dictionary(uniqueKeysWithValues: allCases.enumerated().map { ($1, $0) })

    /// The feature's place in a vector of all features.
    static func index(_ feature: RankingFeature) -> Int { indices[feature]! }
}

/// The candidates a learned ranking reorders: the best by Resource Allocation two steps away, and when fewer
/// than ``ThreeStepSuggestion/fillBelow`` exist, the best three steps away (as the service fills, issue 16 §1).
public enum LearnedRanking {
    /// How many two-step candidates, best by Resource Allocation, the model reorders.
    public static let pool = 100
    /// The most two-step paths the three-step features follow; past it, the weakest are left out.
    public static let featurePathBudget = 1 << 16
}

extension AdjacencyReading {
    /// The ``RankingFeature``s of each candidate for `viewer`, each in ``RankingFeature/allCases`` order.
    ///
    /// Paths run only through connections whose lists the viewer may see. The three-step signals follow the
    /// two-step paths from the viewer's connections with the fewest connections first, up to `pathBudget`, so
    /// what a budget leaves out is what would have weighed least.
    func rankingFeatures(
        for viewer: NodeID,
        candidates: [NodeID],
        filter: SuggestionFilter,
        pathBudget: Int = LearnedRanking.featurePathBudget
    ) -> [[Double]] {
        guard Int(viewer) < nodeCount else {
            return candidates.map { _ in [Double](repeating: 0, count: RankingFeature.allCases.count) }
        }
        var visible: [NodeID] = []
        withNeighbors(of: viewer) { connections in
            for connection in connections where degree(of: connection) > 1 && !filter.hides(connection) {
                visible.append(connection)
            }
        }
        // Two steps: each person reached, with the number of paths and the Resource Allocation weight of them.
        var twoStep: [NodeID: (paths: Int, weight: Double)] = [:]
        var budget = pathBudget
        for connection in visible.sorted(by: { (degree(of: $0), $0) < (degree(of: $1), $1) }) where budget > 0 {
            let share = 1 / Double(degree(of: connection))
            withNeighbors(of: connection) { reached in
                budget -= reached.count
                for person in reached where person != viewer {
                    twoStep[person, default: (0, 0)].paths += 1
                    twoStep[person, default: (0, 0)].weight += share
                }
            }
        }
        let viewerDegree = Double(degree(of: viewer))
        var rows = candidates.map { candidate -> [Double] in
            var (ra, aa, cn) = (0.0, 0.0, 0)
            let mutuals = SuggestionWorkspace.mutualsByStrength(in: self, intermediaries: visible, candidate: candidate)
            for mutual in mutuals {
                let mutualDegree = Double(degree(of: mutual))
                ra += 1 / mutualDegree
                aa += 1 / log(max(2, mutualDegree))
                cn += 1
            }
            var (paths, threeStep) = (0, 0.0)
            withNeighbors(of: candidate) { connections in
                for person in connections {
                    guard let reached = twoStep[person], !filter.hides(person), !filter.excludes(person) else {
                        continue
                    }
                    paths += reached.paths
                    threeStep += reached.weight / Double(degree(of: person))
                }
            }
            let candidateDegree = Double(degree(of: candidate))
            let union = viewerDegree + candidateDegree - Double(cn)
            return [
                ra, aa, Double(cn), union > 0 ? Double(cn) / union : 0, log1p(candidateDegree), log1p(viewerDegree),
                log1p(Double(paths)), threeStep, 0, 0, 0, 0, 0,
            ]
        }
        // Shares of the best among these candidates, and the place by Resource Allocation.
        for (share, of) in [
            (RankingFeature.resourceAllocationShare, RankingFeature.resourceAllocation),
            (.threeStepShare, .threeStepResourceAllocation), (.threeStepPathShare, .threeStepPaths),
            (.adamicAdarShare, .adamicAdar),
        ] {
            let (target, source) = (RankingFeature.index(share), RankingFeature.index(of))
            let best = rows.map { $0[source] }.max() ?? 0
            for index in rows.indices { rows[index][target] = best > 0 ? rows[index][source] / best : 0 }
        }
        let (ra, threeStep, cn) = (
            RankingFeature.index(.resourceAllocation), RankingFeature.index(.threeStepResourceAllocation),
            RankingFeature.index(.commonNeighbours)
        )
        let order = rows.indices.sorted { a, b in
            (rows[a][ra], rows[a][threeStep], rows[a][cn], candidates[b])
                > (rows[b][ra], rows[b][threeStep], rows[b][cn], candidates[a])
        }
        for (place, index) in order.enumerated() {
            rows[index][RankingFeature.index(.resourceAllocationPlace)] = log1p(Double(place))
        }
        return rows
    }

    /// The learned ranking's top `k` for `viewer`: the pool of ``LearnedRanking`` ordered by `model`, ties by
    /// Resource Allocation, then three-step Resource Allocation, then the candidate's connections.
    func rankLearned(
        for viewer: NodeID,
        k: Int,
        model: SuggestionModel,
        filter: SuggestionFilter,
        workspace: inout SuggestionWorkspace
    ) -> [NodeID] {
        let pool = learnedPool(for: viewer, filter: filter, workspace: &workspace)
        let rows = rankingFeatures(for: viewer, candidates: pool, filter: filter)
        let ra = RankingFeature.index(.resourceAllocation)
        let threeStep = RankingFeature.index(.threeStepResourceAllocation)
        let scored = zip(pool, rows).map { candidate, row in
            (model.logit(row), row[ra], row[threeStep], degree(of: candidate), candidate)
        }
        return scored.sorted { a, b in (a.0, a.1, a.2, a.3, b.4) > (b.0, b.1, b.2, b.3, a.4) }.prefix(k).map(\.4)
    }

    /// The candidates a learned ranking reorders; see ``LearnedRanking``.
    func learnedPool(for viewer: NodeID, filter: SuggestionFilter, workspace: inout SuggestionWorkspace) -> [NodeID] {
        let twoStep = workspace.rank(
            in: self,
            for: viewer,
            k: max(LearnedRanking.pool, ThreeStepSuggestion.fillBelow),
            scorer: .resourceAllocation,
            filter: filter,
            namedMutualLimit: 0
        ).map(\.candidate)
        guard twoStep.count < ThreeStepSuggestion.fillBelow else { return twoStep }
        return twoStep
            + rankThreeStep(
                for: viewer,
                k: LearnedRanking.pool,
                filter: filter,
                pathBudget: LiveSocialGraph.threeStepPathBudget
            ).map(\.candidate)
    }
}
