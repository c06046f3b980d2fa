/// How well one scorer recovered held-out connections.
public struct ScorerQuality: Sendable, Hashable {
    /// The scorer measured.
    public var scorer: Scorer
    /// Mean over evaluated users of the share of their held-out connections found in their top k.
    public var recall: Double
    /// The share of evaluated users with at least one held-out connection in their top k.
    public var hitRate: Double
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
        func format(_ value: Double) -> String {
            let scaled = (value * 10_000).rounded()
            let whole = Int(scaled) / 10_000
            let fraction = String(Int(scaled) % 10_000)
            return "\(whole)." + String(repeating: "0", count: 4 - fraction.count) + fraction
        }
        return [
            "edges: \(edgeCount), held out: \(heldOutEdgeCount) (holdout \(holdout), seed \(seed))",
            "evaluated users: \(evaluatedUserCount)",
            "scorer: \(production.scorer)",
            "recall@\(k): \(format(production.recall))",
            "hit-rate@\(k): \(format(production.hitRate))",
            "baseline \(baseline.scorer) recall@\(k): \(format(baseline.recall))",
            "baseline \(baseline.scorer) hit-rate@\(k): \(format(baseline.hitRate))",
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
        let training = CSRGraph(edges: split.training, nodeCount: split.nodeCount)
        var heldOutByUser: [NodeID: Set<NodeID>] = [:]
        for (a, b) in split.heldOut {
            heldOutByUser[a, default: []].insert(b)
            heldOutByUser[b, default: []].insert(a)
        }
        var workspace = SuggestionWorkspace(nodeCount: training.nodeCount)

        func quality(of scorer: Scorer) -> ScorerQuality {
            var recallSum = 0.0
            var usersWithHit = 0
            for user in split.users {
                let hidden = heldOutByUser[user, default: []]
                let ranked = training.suggestions(
                    for: user,
                    k: k,
                    scorer: scorer,
                    namedMutualLimit: 0,
                    workspace: &workspace
                )
                let hits = ranked.count { hidden.contains($0.candidate) }
                recallSum += Double(hits) / Double(hidden.count)
                if hits > 0 { usersWithHit += 1 }
            }
            let userCount = Double(max(1, split.users.count))
            return ScorerQuality(
                scorer: scorer,
                recall: recallSum / userCount,
                hitRate: Double(usersWithHit) / userCount
            )
        }

        return EvaluationReport(
            k: k,
            holdout: holdout,
            seed: seed,
            edgeCount: split.training.count + split.heldOut.count,
            heldOutEdgeCount: split.heldOut.count,
            evaluatedUserCount: split.users.count,
            production: quality(of: production),
            baseline: quality(of: baseline)
        )
    }
}
