import Foundation
import Testing

@testable import KithGraph

@Suite("The learned ranker (issue 16 §2)")
struct LearnedRankingTests {
    /// 0 – 1, 0 – 2; 1 – 3, 2 – 3, 2 – 4; 3 – 5, 4 – 5; 5 – 6.
    let graph = CSRGraph(edges: [(0, 1), (0, 2), (1, 3), (2, 3), (2, 4), (3, 5), (4, 5), (5, 6)])

    func value(_ rows: [[Double]], _ row: Int, _ feature: RankingFeature) -> Double {
        rows[row][RankingFeature.index(feature)]
    }

    @Test("PYM-04 features are the textbook signals through the lists the viewer may see")
    func features() {
        let rows = graph.rankingFeatures(for: 0, candidates: [3, 4, 5], filter: .none)
        // 3: mutuals 1 (2 connections) and 2 (3 connections).
        #expect(abs(value(rows, 0, .resourceAllocation) - 5.0 / 6) < 1e-12)
        let adamicAdar: Double = 1 / log(2.0) + 1 / log(3.0)
        #expect(abs(value(rows, 0, .adamicAdar) - adamicAdar) < 1e-12)
        #expect(value(rows, 0, .commonNeighbours) == 2)
        #expect(abs(value(rows, 0, .jaccard) - 2.0 / 3) < 1e-12)
        #expect(value(rows, 0, .candidateDegree) == log1p(3))
        #expect(value(rows, 0, .viewerDegree) == log1p(2))
        // 5: no mutual; paths 0-1-3-5, 0-2-3-5, 0-2-4-5.
        #expect(value(rows, 2, .commonNeighbours) == 0)
        #expect(value(rows, 2, .threeStepPaths) == log1p(3))
        let expected: Double = 8.0 / 18  // 1/(2·3) + 1/(3·3) + 1/(3·2)
        #expect(abs(value(rows, 2, .threeStepResourceAllocation) - expected) < 1e-12)
        #expect(value(rows, 0, .resourceAllocationShare) == 1)
        #expect(value(rows, 0, .resourceAllocationPlace) == 0)
        #expect(value(rows, 1, .resourceAllocationPlace) == log1p(1))

        // A hidden list is no path: through 2 nothing counts.
        let hidden = graph.rankingFeatures(
            for: 0,
            candidates: [3, 4, 5],
            filter: SuggestionFilter(hiddenIntermediaries: [2])
        )
        #expect(value(hidden, 0, .commonNeighbours) == 1)
        #expect(value(hidden, 1, .resourceAllocation) == 0)
        #expect(value(hidden, 2, .threeStepPaths) == log1p(1), "only 0-1-3-5 is left")
        // A hidden list two steps away is no path either: through 3 nothing counts.
        let hiddenFar = graph.rankingFeatures(
            for: 0,
            candidates: [5],
            filter: SuggestionFilter(hiddenIntermediaries: [3])
        )
        #expect(value(hiddenFar, 0, .threeStepPaths) == log1p(1), "only 0-2-4-5 is left")
        #expect(abs(value(hiddenFar, 0, .threeStepResourceAllocation) - 1.0 / 6) < 1e-12)
        // Nor is the list of someone never to be suggested (blocked, say).
        let blocked = graph.rankingFeatures(
            for: 0,
            candidates: [5],
            filter: SuggestionFilter(excludedCandidates: [3])
        )
        #expect(value(blocked, 0, .threeStepPaths) == log1p(1), "only 0-2-4-5 is left")
    }

    @Test("a model file round-trips, and one of another format or with lists of different lengths is refused")
    func modelFile() throws {
        let model = SuggestionModel(
            version: "test",
            fittedOn: ["hand graph"],
            features: [.resourceAllocation, .candidateDegree],
            mean: [0.1, 2],
            spread: [0.5, 1],
            weights: [1.5, -0.25],
            intercept: -3
        )
        #expect(try SuggestionModel.decode(model.encoded()) == model)
        var other = model
        other.format = "something-else"
        #expect(throws: SuggestionModel.ModelError.self) { try SuggestionModel.decode(other.encoded()) }
        var short = model
        short.weights = [1]
        #expect(throws: SuggestionModel.ModelError.self) { try SuggestionModel.decode(short.encoded()) }
        var row = [Double](repeating: 0, count: RankingFeature.allCases.count)
        row[RankingFeature.index(.resourceAllocation)] = 0.6
        row[RankingFeature.index(.candidateDegree)] = 3
        let logit = -3 + 1.5 * (0.6 - 0.1) / 0.5 - 0.25 * (3 - 2) / 1
        #expect(abs(model.logit(row) - logit) < 1e-12)
        #expect(abs(model.probability(row) - 1 / (1 + exp(-logit))) < 1e-12)
        #expect(SuggestionModel.shipped.format == SuggestionModel.format)
        #expect(SuggestionModel.shipped.features.count > 1, "the shipped model is a fit, not a placeholder")
    }

    @Test("the fit finds a planted signal: hidden connections go to the people with most connections")
    func fitFindsSignal() {
        // Chung–Lu: the other end of an edge is drawn by popularity, so the candidate's connections predict it.
        let edges = SyntheticGraph.chungLu(userCount: 3_000, edgeCount: 12_000, seed: 5)
        let examples = SuggestionTraining.examples(edges: edges, seed: 1, users: 500)
        #expect(examples.userCount > 100 && examples.labels.contains(true))
        let model = SuggestionTraining.fit(examples, version: "test", fittedOn: ["chung-lu"])
        let weight = model.weights[model.features.firstIndex(of: .candidateDegree)!]
        #expect(weight > 0.5, "weight of the candidate's connections: \(weight)")
        // Deterministic: the same graph and seed give the same examples and the same model.
        let again = SuggestionTraining.examples(edges: edges, seed: 1, users: 500)
        #expect(SuggestionTraining.fit(again, version: "test", fittedOn: ["chung-lu"]) == model)
        let otherSeed = SuggestionTraining.examples(edges: edges, seed: 2, users: 500)
        #expect(otherSeed.labels != examples.labels, "another seed hides other edges")
    }

    @Test("PYM-04 the learned ranking, fitted on training edges only, finds more held-out edges than RA on communities")
    func beatsResourceAllocation() {
        let edges = SyntheticGraph.communities(userCount: 4_000, edgeCount: 10_000, seed: 3)
        let report = SuggestionEvaluation.compare(
            edges: edges,
            seeds: [1, 2],
            users: 400,
            scorers: [.resourceAllocation, .learned]
        )
        let ratio = report.recallRatio(.learned, to: .resourceAllocation)
        #expect(ratio.low > 1.0, "recall / Resource Allocation: \(ratio)")
    }

    @Test("Newton's solver solves a small system and refuses a singular one")
    func solver() {
        let x = SuggestionTraining.solve([[2, 1], [1, 3]], [3, 5])!
        #expect(abs(x[0] - 0.8) < 1e-12 && abs(x[1] - 1.4) < 1e-12)
        #expect(SuggestionTraining.solve([[1, 2], [2, 4]], [1, 2]) == nil)
    }
}
