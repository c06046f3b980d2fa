import Foundation

/// Fitting the learned ranker from a graph (issue 16 §2): hide a sample of its edges, rank the pool of
/// ``LearnedRanking`` for people who lost one, and fit a logistic model telling the hidden connections from
/// the rest.
///
/// Only the edge lists it is given are read: the shipped model is fitted on public and synthetic graphs, never
/// on people's data. (A fit on an operator's own graph, restricted to people with the personalisation consent
/// and logged as an act, PYM-07, is not built yet.)
public enum SuggestionTraining {
    /// Candidates with their features and whether each was a hidden connection.
    public struct Examples: Sendable {
        /// One row per candidate, in ``RankingFeature/allCases`` order.
        public var rows: [[Double]] = []
        public var labels: [Bool] = []
        /// People whose pools were labelled.
        public var userCount = 0

        public init() {}

        public mutating func append(_ other: Examples) {
            rows += other.rows
            labels += other.labels
            userCount += other.userCount
        }
    }

    /// The share of edges hidden to make examples, and the people labelled per graph.
    public static let holdout = 0.1
    public static let users = 2_000

    /// Examples from one graph: `holdout` of its edges hidden (seeded), the pools of up to `users` people who
    /// lost an edge ranked on the rest and labelled.
    public static func examples(
        edges: [(NodeID, NodeID)],
        seed: UInt64,
        holdout: Double = SuggestionTraining.holdout,
        users: Int = SuggestionTraining.users
    ) -> Examples {
        let split = SuggestionEvaluation.split(edges: edges, holdout: holdout, seed: seed, users: users)
        let graph = CSRGraph(edges: split.training, nodeCount: split.nodeCount)
        let hidden = split.heldOutByPerson
        var workspace = SuggestionWorkspace(nodeCount: graph.nodeCount)
        var examples = Examples()
        for user in split.users {
            let pool = graph.learnedPool(for: user, filter: .none, workspace: &workspace)
            guard !pool.isEmpty else { continue }
            let lost = hidden[user, default: []]
            examples.rows += graph.rankingFeatures(for: user, candidates: pool, filter: .none)
            examples.labels += pool.map { lost.contains($0) }
            examples.userCount += 1
        }
        return examples
    }

    /// A logistic model fitted to `examples` by Newton's method with an L2 penalty on the weights (not the
    /// intercept), on features standardised to mean 0 and spread 1; deterministic.
    public static func fit(
        _ examples: Examples,
        version: String,
        fittedOn: [String],
        features: [RankingFeature] = RankingFeature.allCases,
        penalty: Double = 1
    ) -> SuggestionModel {
        precondition(!features.isEmpty, "a model needs at least one feature")
        let columns = features.map(RankingFeature.index)
        let width = columns.count
        let count = Double(max(1, examples.rows.count))
        var mean = [Double](repeating: 0, count: width)
        var spread = [Double](repeating: 0, count: width)
        for row in examples.rows { for (j, column) in columns.enumerated() { mean[j] += row[column] / count } }
        for row in examples.rows {
            for (j, column) in columns.enumerated() { spread[j] += (row[column] - mean[j]) * (row[column] - mean[j]) }
        }
        spread = spread.map { variance in
            let deviation = (variance / count).squareRoot()
            return deviation > 1e-12 && deviation.isFinite ? deviation : 1
        }
        let standardised = examples.rows.map { row in
            [1] + columns.enumerated().map { j, column in (row[column] - mean[j]) / spread[j] }
        }
        // Parameter 0 is the intercept.
        var theta = [Double](repeating: 0, count: width + 1)
        let positives = Double(examples.labels.count { $0 })
        if positives > 0 && positives < count { theta[0] = log(positives / (count - positives)) }
        /// The penalised negative log-likelihood, the quantity each Newton step must lower.
        func loss(_ theta: [Double]) -> Double {
            var total = 0.0
            for (x, label) in zip(standardised, examples.labels) {
                var logit = 0.0
                for j in 0...width { logit += theta[j] * x[j] }
                // log(1 + e^z) − y·z, computed without overflow.
                total += max(logit, 0) + log1p(exp(-abs(logit))) - (label ? logit : 0)
            }
            return total + penalty / 2 * theta.dropFirst().reduce(0) { $0 + $1 * $1 }
        }
        var current = loss(theta)
        for _ in 0..<100 {
            var gradient = [Double](repeating: 0, count: width + 1)
            var hessian = [[Double]](repeating: [Double](repeating: 0, count: width + 1), count: width + 1)
            for (x, label) in zip(standardised, examples.labels) {
                var logit = 0.0
                for j in 0...width { logit += theta[j] * x[j] }
                let p = 1 / (1 + exp(-logit))
                let residual = p - (label ? 1 : 0)
                let curvature = max(p * (1 - p), 1e-12)
                for j in 0...width {
                    gradient[j] += residual * x[j]
                    for l in j...width { hessian[j][l] += curvature * x[j] * x[l] }
                }
            }
            for j in 0...width {
                for l in 0..<j { hessian[j][l] = hessian[l][j] }
            }
            for j in 1...width {
                gradient[j] += penalty * theta[j]
                hessian[j][j] += penalty
            }
            guard let step = solve(hessian, gradient) else { break }
            // Halve the step until the loss falls: a full Newton step can overshoot far from the optimum.
            var scale = 1.0
            var next = theta
            var nextLoss = current
            while scale > 1e-6 {
                next = zip(theta, step).map { $0 - scale * $1 }
                nextLoss = loss(next)
                if nextLoss <= current { break }
                scale /= 2
            }
            guard nextLoss <= current else { break }
            let improvement = current - nextLoss
            theta = next
            current = nextLoss
            if improvement <= 1e-10 * max(1, current) { break }
        }
        return SuggestionModel(
            version: version,
            fittedOn: fittedOn,
            features: features,
            mean: mean,
            spread: spread,
            weights: Array(theta.dropFirst()),
            intercept: theta[0]
        )
    }

    /// `x` with `matrix · x = vector`, by Gaussian elimination with partial pivoting; `nil` when singular.
    static func solve(_ matrix: [[Double]], _ vector: [Double]) -> [Double]? {
        var a = matrix
        var b = vector
        let n = b.count
        for column in 0..<n {
            guard let pivot = (column..<n).max(by: { abs(a[$0][column]) < abs(a[$1][column]) }),
                abs(a[pivot][column]) > 1e-300
            else { return nil }
            a.swapAt(column, pivot)
            b.swapAt(column, pivot)
            for row in (column + 1)..<n where a[row][column] != 0 {
                let factor = a[row][column] / a[column][column]
                for l in column..<n { a[row][l] -= factor * a[column][l] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for l in (row + 1)..<n { sum -= a[row][l] * x[l] }
            x[row] = sum / a[row][row]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}
