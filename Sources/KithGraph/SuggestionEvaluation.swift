import Foundation

/// A quality figure as the reports print it: four decimal places.
func fourPlaces(_ value: Double) -> String { String(format: "%.4f", value) }

/// How well one scorer recovered held-out connections.
public struct ScorerQuality: Sendable, Hashable {
    /// The scorer measured.
    public var scorer: Scorer
    /// Mean over evaluated users of the share of their held-out connections found in their top k.
    public var recall: Double
    /// The share of evaluated users with at least one held-out connection in their top k.
    public var hitRate: Double
    /// Mean over evaluated users of NDCG@k with binary relevance: a held-out connection ranked first counts
    /// most, and each user's ideal (all held-out connections first, up to k) scores 1.
    public var ndcg: Double
}

/// The outcome of ``SuggestionEvaluation/run(edges:holdout:seed:users:k:production:baseline:)``.
public struct EvaluationReport: Sendable, CustomStringConvertible {
    /// The list length scored.
    public var k: Int
    /// The fraction of edges held out.
    public var holdout: Double
    /// The seed of the split.
    public var seed: UInt64
    /// Distinct undirected edges in the input, after dropping self loops and repeats.
    public var edgeCount: Int
    /// Edges held out of training.
    public var heldOutEdgeCount: Int
    /// Users ranked and scored.
    public var evaluatedUserCount: Int
    /// The scorer used for serving.
    public var production: ScorerQuality
    /// The comparison scorer, on the same split.
    public var baseline: ScorerQuality

    /// The report as labelled lines: production `recall@k` and `hit-rate@k` first, then the baseline's.
    public var description: String {
        [
            "edges: \(edgeCount), held out: \(heldOutEdgeCount) (holdout \(holdout), seed \(seed))",
            "evaluated users: \(evaluatedUserCount)",
            "scorer: \(production.scorer)",
            "recall@\(k): \(fourPlaces(production.recall))",
            "hit-rate@\(k): \(fourPlaces(production.hitRate))",
            "baseline \(baseline.scorer) recall@\(k): \(fourPlaces(baseline.recall))",
            "baseline \(baseline.scorer) hit-rate@\(k): \(fourPlaces(baseline.hitRate))",
        ].joined(separator: "\n")
    }
}

/// Offline quality check for suggestions: hide some real connections, rank, and see how many come back.
public enum SuggestionEvaluation {
    /// A reproducible train/test split of an edge list.
    public struct Split: Sendable {
        /// Edges the scorer may see, as `(lower, higher)`.
        public var training: [(NodeID, NodeID)]
        /// Edges hidden from the scorer, as `(lower, higher)`.
        public var heldOut: [(NodeID, NodeID)]
        /// The users to evaluate: each has at least one held-out edge; in seeded random order.
        public var users: [NodeID]
        /// One more than the highest node ID in the input.
        public var nodeCount: Int

        /// Each person's held-out connections.
        public var heldOutByPerson: [NodeID: Set<NodeID>] {
            var lost: [NodeID: Set<NodeID>] = [:]
            for (a, b) in heldOut {
                lost[a, default: []].insert(b)
                lost[b, default: []].insert(a)
            }
            return lost
        }
    }

    /// Splits `edges` reproducibly.
    ///
    /// Edges are made canonical (`lower < higher`; self loops and repeats dropped) and sorted, then shuffled by
    /// ``SplitMix64`` seeded with `seed`; the first `holdout` fraction (rounded) is held out. The same generator then
    /// shuffles the users with a held-out edge, in ascending order, and the first `users` of them are kept.
    public static func split(edges: [(NodeID, NodeID)], holdout: Double, seed: UInt64, users: Int) -> Split {
        precondition((0...1).contains(holdout), "holdout must be a fraction")
        var packed = edges.compactMap { a, b -> UInt64? in
            a == b ? nil : UInt64(min(a, b)) << 32 | UInt64(max(a, b))
        }
        packed.sort()
        var canonical: [(NodeID, NodeID)] = []
        canonical.reserveCapacity(packed.count)
        var highestID = -1
        for (index, edge) in packed.enumerated() where index == 0 || packed[index - 1] != edge {
            canonical.append((NodeID(truncatingIfNeeded: edge >> 32), NodeID(truncatingIfNeeded: edge)))
            highestID = max(highestID, Int(truncatingIfNeeded: edge & 0xFFFF_FFFF))
        }

        var generator = SplitMix64(seed: seed)
        generator.shuffle(&canonical)
        let heldOutCount = Int((Double(canonical.count) * holdout).rounded())
        let heldOut = Array(canonical[..<heldOutCount])

        var candidates = Array(Set(heldOut.flatMap { [$0.0, $0.1] })).sorted()
        generator.shuffle(&candidates)
        return Split(
            training: Array(canonical[heldOutCount...]),
            heldOut: heldOut,
            users: Array(candidates.prefix(max(0, users))),
            nodeCount: highestID + 1
        )
    }

    /// Holds out edges, ranks suggestions for users who lost an edge, and measures `recall@k` and `hit-rate@k` for
    /// the production scorer and a baseline on the same split.
    ///
    /// - Parameters:
    ///   - edges: The undirected edge list, e.g. from ``EdgeList/load(path:)``.
    ///   - holdout: The fraction of edges to hide.
    ///   - seed: Fixes the split and the choice of users.
    ///   - users: The most users to evaluate.
    ///   - k: The list length scored.
    ///   - production: The scorer to report first.
    ///   - baseline: The scorer to compare against.
    public static func run(
        edges: [(NodeID, NodeID)],
        holdout: Double = 0.1,
        seed: UInt64 = 7,
        users: Int = 1000,
        k: Int = 10,
        production: Scorer = .production,
        baseline: Scorer = .commonNeighbours
    ) -> EvaluationReport {
        let split = split(edges: edges, holdout: holdout, seed: seed, users: users)
        let qualities = measure(split, k: k, scorers: [production, baseline])
        return EvaluationReport(
            k: k,
            holdout: holdout,
            seed: seed,
            edgeCount: split.training.count + split.heldOut.count,
            heldOutEdgeCount: split.heldOut.count,
            evaluatedUserCount: split.users.count,
            production: qualities[0],
            baseline: qualities[1]
        )
    }

    /// The seed of the examples a ``Scorer/learned`` fit hides from a split's training edges.
    static let trainingSeed: UInt64 = 0x7EA1

    /// Each scorer's quality on one split: it ranks from the training edges for every evaluated user.
    static func measure(_ split: Split, k: Int, scorers: [Scorer]) -> [ScorerQuality] {
        let training = CSRGraph(edges: split.training, nodeCount: split.nodeCount)
        let heldOutByUser = split.heldOutByPerson
        var workspace = SuggestionWorkspace(nodeCount: training.nodeCount)
        // Fitted on the training edges alone: the held-out ones never reach the fit.
        let fitted =
            scorers.contains(.learned)
            ? SuggestionTraining.fit(
                SuggestionTraining.examples(edges: split.training, seed: Self.trainingSeed),
                version: "fitted on this split's training edges",
                fittedOn: ["\(split.training.count) training edges"]
            ) : nil
        return scorers.map { scorer in
            let model = scorer == .learned ? fitted : scorer == .shippedModel ? SuggestionModel.shipped : nil
            var recallSum = 0.0
            var ndcgSum = 0.0
            var usersWithHit = 0
            for user in split.users {
                let hidden = heldOutByUser[user, default: []]
                let ranked =
                    model.map { training.rankLearned(for: user, k: k, model: $0, filter: .none, workspace: &workspace) }
                    ?? rank(user, in: training, k: k, scorer: scorer, workspace: &workspace)
                let found = ranked.map { hidden.contains($0) }
                let hits = found.count { $0 }
                recallSum += Double(hits) / Double(hidden.count)
                ndcgSum += ndcg(found, relevant: hidden.count, k: k)
                if hits > 0 { usersWithHit += 1 }
            }
            let userCount = Double(max(1, split.users.count))
            return ScorerQuality(
                scorer: scorer,
                recall: recallSum / userCount,
                hitRate: Double(usersWithHit) / userCount,
                ndcg: ndcgSum / userCount
            )
        }
    }

    /// The top `k` for `user` by `scorer`; for ``Scorer/resourceAllocationThreeSteps`` as the service ranks
    /// them: at least ``ThreeStepSuggestion/fillBelow`` two-step candidates, and when fewer exist, those three
    /// steps away as well, merged by score.
    static func rank(
        _ user: NodeID,
        in graph: CSRGraph,
        k: Int,
        scorer: Scorer,
        workspace: inout SuggestionWorkspace
    ) -> [NodeID] {
        guard scorer == .resourceAllocationThreeSteps else {
            return graph.suggestions(for: user, k: k, scorer: scorer, namedMutualLimit: 0, workspace: &workspace)
                .map(\.candidate)
        }
        let twoStep = graph.suggestions(
            for: user,
            k: max(k, ThreeStepSuggestion.fillBelow),
            scorer: scorer,
            namedMutualLimit: 0,
            workspace: &workspace
        )
        guard twoStep.count < ThreeStepSuggestion.fillBelow else { return twoStep.prefix(k).map(\.candidate) }
        let threeStep = graph.threeStepSuggestions(for: user, k: k)
        let merged =
            twoStep.map { ($0.score, $0.mutualCount, $0.candidate) }
            + threeStep.map { ($0.score, 0, $0.candidate) }
        return merged.sorted { ($0.0, $0.1, $1.2) > ($1.0, $1.1, $0.2) }.prefix(k).map(\.2)
    }

    /// NDCG@k of one ranked list with binary relevance: `found[i]` says whether the i-th suggestion was a
    /// held-out connection, `relevant` how many there were. 1 when the first min(k, relevant) are all hits.
    public static func ndcg(_ found: [Bool], relevant: Int, k: Int) -> Double {
        func gain(_ position: Int) -> Double { 1 / log2(Double(position) + 2) }
        let ideal = (0..<min(k, relevant)).reduce(0) { $0 + gain($1) }
        guard ideal > 0 else { return 0 }
        let actual = found.prefix(k).enumerated().reduce(0) { $0 + ($1.element ? gain($1.offset) : 0) }
        return actual / ideal
    }

    /// Every scorer over several seeds: each seed is its own split (as in
    /// ``run(edges:holdout:seed:users:k:production:baseline:)``), on which every scorer is measured.
    public static func compare(
        edges: [(NodeID, NodeID)],
        holdout: Double = 0.1,
        seeds: [UInt64],
        users: Int = 1000,
        k: Int = 10,
        scorers: [Scorer] = Scorer.allCases
    ) -> ComparisonReport {
        let runs = seeds.map { seed in
            let split = split(edges: edges, holdout: holdout, seed: seed, users: users)
            return ComparisonReport.Run(
                seed: seed,
                edgeCount: split.training.count + split.heldOut.count,
                heldOutEdgeCount: split.heldOut.count,
                evaluatedUserCount: split.users.count,
                qualities: measure(split, k: k, scorers: scorers)
            )
        }
        return ComparisonReport(k: k, holdout: holdout, scorers: scorers, runs: runs)
    }
}

/// The outcome of ``SuggestionEvaluation/compare(edges:holdout:seeds:users:k:scorers:)``: every scorer on
/// the same splits, one per seed, with the mean and the spread over seeds.
public struct ComparisonReport: Sendable, CustomStringConvertible {
    /// One seed's split and what each scorer achieved on it.
    public struct Run: Sendable {
        public var seed: UInt64
        public var edgeCount: Int
        public var heldOutEdgeCount: Int
        public var evaluatedUserCount: Int
        /// In the order of ``ComparisonReport/scorers``.
        public var qualities: [ScorerQuality]

        public func quality(of scorer: Scorer) -> ScorerQuality? { qualities.first { $0.scorer == scorer } }
    }

    /// Mean, lowest and highest of one figure over the seeds.
    public struct Spread: Sendable, Equatable {
        public var mean: Double
        public var low: Double
        public var high: Double

        init(_ values: [Double]) {
            mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
            low = values.min() ?? 0
            high = values.max() ?? 0
        }
    }

    public var k: Int
    public var holdout: Double
    public var scorers: [Scorer]
    public var runs: [Run]

    /// One figure of `scorer` over the seeds.
    public func spread(_ scorer: Scorer, _ figure: KeyPath<ScorerQuality, Double>) -> Spread {
        Spread(runs.compactMap { $0.quality(of: scorer)?[keyPath: figure] })
    }

    /// Recall@k of `scorer` divided by `reference`'s on the same split, over the seeds.
    public func recallRatio(_ scorer: Scorer, to reference: Scorer) -> Spread {
        Spread(
            runs.compactMap { run in
                guard let mine = run.quality(of: scorer)?.recall, let theirs = run.quality(of: reference)?.recall,
                    theirs > 0
                else { return nil }
                return mine / theirs
            }
        )
    }

    /// A table: one row per scorer with each figure's mean and [low–high] over the seeds, and its recall
    /// against Resource Allocation's on the same splits.
    public var description: String {
        func cell(_ spread: Spread) -> String {
            "\(fourPlaces(spread.mean)) [\(fourPlaces(spread.low))–\(fourPlaces(spread.high))]"
        }
        var lines = [
            "holdout \(holdout), seeds \(runs.map { String($0.seed) }.joined(separator: ",")), "
                + "users evaluated per seed \(runs.map { String($0.evaluatedUserCount) }.joined(separator: ",")), "
                + "edges \(runs.first?.edgeCount ?? 0) (\(runs.first?.heldOutEdgeCount ?? 0) held out)",
            "| scorer | recall@\(k) | hit-rate@\(k) | NDCG@\(k) | recall / resource-allocation |",
            "|---|---|---|---|---|",
        ]
        for scorer in scorers {
            let ratio = recallRatio(scorer, to: .resourceAllocation)
            lines.append(
                "| \(scorer)\(scorer == .production ? " (serving)" : "") | \(cell(spread(scorer, \.recall))) | "
                    + "\(cell(spread(scorer, \.hitRate))) | \(cell(spread(scorer, \.ndcg))) | "
                    + "\(String(format: "%.3f", ratio.mean)) [\(String(format: "%.3f", ratio.low))–\(String(format: "%.3f", ratio.high))] |"
            )
        }
        return lines.joined(separator: "\n")
    }
}
