import Foundation

/// Settings for ``GraphBenchmark/run(_:progress:)``.
public struct BenchmarkConfiguration: Sendable {
    /// Nodes in the synthetic graph.
    public var userCount = 1_000_000
    /// Edges drawn for the synthetic graph, before self loops and repeats are dropped.
    public var edgeCount = 10_000_000
    /// Fixes the graph and the sampled users.
    public var seed: UInt64 = 42
    /// Tail exponent of the degree distribution.
    public var powerLawExponent = 2.5
    /// Cap on any node's expected degree.
    public var maximumExpectedDegree = 5_000.0
    /// Viewer degrees to time; users within ±10% of each are sampled.
    /// Degree 3 is a newcomer's, whose list is filled from three steps away when two steps run short.
    public var targetDegrees = [3, 100, 500]
    /// Users timed per target degree.
    public var usersPerTarget = 300
    /// Suggestions per query.
    public var k = 10

    /// The default configuration: one million users, ten million edges.
    public init() {}
}

/// Latency of suggestion queries for viewers of about one degree.
public struct LatencySummary: Sendable {
    /// The viewer degree aimed at.
    public var targetDegree: Int
    /// Users timed.
    public var sampledUsers: Int
    /// Median latency in seconds.
    public var p50: Double
    /// 99th-percentile latency in seconds.
    public var p99: Double
    /// Slowest query in seconds.
    public var maximum: Double
    /// Mean two-hop paths walked per query (the work done).
    public var meanPathsWalked: Double
    /// How many of the sampled users had their list filled from three steps away.
    public var filledFromThreeSteps = 0
}

/// The figures ``GraphBenchmark/run(_:progress:)`` measured.
public struct BenchmarkReport: Sendable, CustomStringConvertible {
    /// The settings used.
    public var configuration: BenchmarkConfiguration
    /// Edges handed to the CSR builder.
    public var ingestedEdgeCount: Int
    /// Distinct undirected edges kept.
    public var uniqueEdgeCount: Int
    /// Seconds spent building the CSR.
    public var ingestionSeconds: Double
    /// Bytes held by the CSR.
    public var bytesUsed: Int
    /// The largest degree.
    public var maximumDegree: Int
    /// Per target degree, the query latencies.
    public var latencies: [LatencySummary]
    /// The graph queried, for follow-up comparisons (the SQL baseline).
    public var graph: CSRGraph
    /// The users timed for each target degree, in timing order.
    public var sampledUsers: [Int: [NodeID]]

    /// Input edges turned into CSR per second.
    public var edgesPerSecond: Double { Double(ingestedEdgeCount) / ingestionSeconds }
    /// CSR bytes per distinct undirected edge.
    public var bytesPerEdge: Double { Double(bytesUsed) / Double(max(1, uniqueEdgeCount)) }

    /// The report as labelled lines.
    public var description: String {
        var lines = [
            "graph: \(configuration.userCount) users, \(uniqueEdgeCount) unique edges"
                + " (\(ingestedEdgeCount) drawn), max degree \(maximumDegree)",
            "ingest: \(String(format: "%.3f", ingestionSeconds)) s, "
                + "\(String(format: "%.2f", edgesPerSecond / 1e6)) M edges/s",
            "memory: \(bytesUsed) bytes, \(String(format: "%.2f", bytesPerEdge)) bytes/edge",
        ]
        for latency in latencies {
            let label = "latency degree~\(latency.targetDegree) (top \(configuration.k), \(latency.sampledUsers) users)"
            lines.append(
                label + ": p50 \(String(format: "%.3f", latency.p50 * 1e3)) ms, "
                    + "p99 \(String(format: "%.3f", latency.p99 * 1e3)) ms, "
                    + "max \(String(format: "%.3f", latency.maximum * 1e3)) ms, "
                    + "paths/query \(Int(latency.meanPathsWalked))"
                    + (latency.filledFromThreeSteps > 0
                        ? ", filled from three steps: \(latency.filledFromThreeSteps)" : "")
            )
        }
        return lines.joined(separator: "\n")
    }
}

/// Ingestion, memory and latency benchmark on a seeded synthetic social graph.
public enum GraphBenchmark {
    /// Generates the graph, times CSR construction, then times suggestion queries through ``LiveSocialGraph``
    /// (snapshot, pooled workspace, top k with named mutuals) for sampled users of each target degree — as
    /// the service asks: at least ``ThreeStepSuggestion/fillBelow`` two-step candidates, and three steps
    /// away as well when fewer exist.
    ///
    /// - Parameter progress: Called with a line before each phase.
    public static func run(
        _ configuration: BenchmarkConfiguration = BenchmarkConfiguration(),
        progress: (String) -> Void = { _ in }
    ) -> BenchmarkReport {
        progress("generating \(configuration.edgeCount) edges over \(configuration.userCount) users")
        var edges = SyntheticGraph.chungLu(
            userCount: configuration.userCount,
            edgeCount: configuration.edgeCount,
            seed: configuration.seed,
            powerLawExponent: configuration.powerLawExponent,
            maximumExpectedDegree: configuration.maximumExpectedDegree
        )

        progress("building CSR")
        let clock = ContinuousClock()
        let start = clock.now
        let base = CSRGraph(edges: edges, nodeCount: configuration.userCount)
        let ingestionSeconds = (clock.now - start).seconds
        let ingestedEdgeCount = edges.count
        edges = []

        var maximumDegree = 0
        for node in 0..<base.nodeCount {
            maximumDegree = max(maximumDegree, base.degree(of: NodeID(truncatingIfNeeded: node)))
        }

        progress("timing suggestions")
        let graph = LiveSocialGraph(graph: SocialGraph(base: base))
        var generator = SplitMix64(seed: configuration.seed ^ 0x5EED)
        var latencies: [LatencySummary] = []
        var sampled: [Int: [NodeID]] = [:]
        for target in configuration.targetDegrees {
            let low = Int((Double(target) * 0.9).rounded(.up))
            let high = Int((Double(target) * 1.1).rounded(.down))
            var users = (0..<base.nodeCount).compactMap { node -> NodeID? in
                let user = NodeID(truncatingIfNeeded: node)
                return (low...high).contains(base.degree(of: user)) ? user : nil
            }
            generator.shuffle(&users)
            users = Array(users.prefix(configuration.usersPerTarget))
            guard !users.isEmpty else { continue }
            sampled[target] = users

            let k = max(configuration.k, ThreeStepSuggestion.fillBelow)
            /// Whether the list was filled from three steps away.
            func query(_ user: NodeID) -> Bool {
                let suggestions = graph.suggestions(for: user, k: k)
                precondition(suggestions.count <= k)
                guard suggestions.count < ThreeStepSuggestion.fillBelow else { return false }
                _ = graph.threeStepSuggestions(for: user, k: k)
                return true
            }
            for user in users.prefix(10) {  // warm-up: pool a workspace, fault in pages
                _ = query(user)
            }
            var seconds: [Double] = []
            var paths = 0
            var filled = 0
            for user in users {
                let queryStart = clock.now
                if query(user) { filled += 1 }
                seconds.append((clock.now - queryStart).seconds)
                for friend in base.neighbors(of: user) { paths += base.degree(of: friend) }
            }
            seconds.sort()
            func percentile(_ fraction: Double) -> Double {
                seconds[min(seconds.count - 1, Int((Double(seconds.count) * fraction).rounded(.up)) - 1)]
            }
            latencies.append(
                LatencySummary(
                    targetDegree: target,
                    sampledUsers: users.count,
                    p50: percentile(0.5),
                    p99: percentile(0.99),
                    maximum: seconds.last ?? 0,
                    meanPathsWalked: Double(paths) / Double(users.count),
                    filledFromThreeSteps: filled
                )
            )
        }

        return BenchmarkReport(
            configuration: configuration,
            ingestedEdgeCount: ingestedEdgeCount,
            uniqueEdgeCount: base.edgeCount,
            ingestionSeconds: ingestionSeconds,
            bytesUsed: base.bytesUsed,
            maximumDegree: maximumDegree,
            latencies: latencies,
            graph: base,
            sampledUsers: sampled
        )
    }
}

extension Duration {
    /// The duration in seconds (every benchmark's unit).
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}
