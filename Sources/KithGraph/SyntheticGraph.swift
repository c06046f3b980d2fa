import Foundation

/// Seeded synthetic social graphs for benchmarks and tests.
public enum SyntheticGraph {
    /// A Chung–Lu random graph with power-law expected degrees, the usual stand-in for a social network.
    ///
    /// Node weights follow `rank^(-1 / (exponent - 1))`, which gives a degree distribution with tail exponent
    /// `exponent`, scaled so the mean degree is `2 * edgeCount / userCount` and capped at `maximumExpectedDegree` (real
    /// services cap friend counts, e.g. 5,000). Both ends of each edge are drawn independently in proportion to
    /// weight, with an alias table, so the list holds a few self loops and repeats, as raw input would; ``CSRGraph``
    /// drops them. Node IDs are a seeded random permutation of weight rank, so hubs are scattered through memory as
    /// they would be with IDs given out at sign-up.
    public static func chungLu(
        userCount: Int,
        edgeCount: Int,
        seed: UInt64,
        powerLawExponent: Double = 2.5,
        maximumExpectedDegree: Double = 5_000
    ) -> [(NodeID, NodeID)] {
        precondition(userCount > 0 && userCount <= Int(NodeID.max), "user count out of range")
        precondition(powerLawExponent > 2, "the exponent must exceed 2 for a finite mean degree")
        var generator = SplitMix64(seed: seed)
        let targetDegreeSum = 2 * Double(edgeCount)
        var weights = (0..<userCount).map { rank in pow(Double(rank + 1), -1 / (powerLawExponent - 1)) }
        for _ in 0..<8 {
            let scale = targetDegreeSum / weights.reduce(0, +)
            for index in weights.indices {
                weights[index] = min(weights[index] * scale, maximumExpectedDegree)
            }
        }
        var nodeOfRank = (0..<userCount).map { NodeID(truncatingIfNeeded: $0) }
        generator.shuffle(&nodeOfRank)
        let table = AliasTable(weights: weights)
        var edges: [(NodeID, NodeID)] = []
        edges.reserveCapacity(edgeCount)
        for _ in 0..<edgeCount {
            let a = nodeOfRank[table.sample(using: &generator)]
            let b = nodeOfRank[table.sample(using: &generator)]
            edges.append((a, b))
        }
        return edges
    }

    /// A community model: people in groups (a workplace, a class, a town) of `communitySize` on average,
    /// with power-law popularity as in ``chungLu(userCount:edgeCount:seed:powerLawExponent:maximumExpectedDegree:)``;
    /// a fraction `inside` of the edges join two members of one group, the rest anyone to anyone. Triangles
    /// and shared neighbours concentrate inside groups, as in real networks, unlike a pure Chung–Lu graph.
    public static func communities(
        userCount: Int,
        edgeCount: Int,
        seed: UInt64,
        communitySize: Int = 50,
        inside: Double = 0.8,
        powerLawExponent: Double = 2.5
    ) -> [(NodeID, NodeID)] {
        precondition(userCount > 1 && communitySize > 1, "too few users")
        var generator = SplitMix64(seed: seed ^ 0xC0_4411)
        let global = chungLu(
            userCount: userCount,
            edgeCount: edgeCount,
            seed: seed,
            powerLawExponent: powerLawExponent,
            maximumExpectedDegree: Double(userCount) / 4
        )
        // Groups of consecutive people in a seeded order, sizes around `communitySize`.
        var order = (0..<userCount).map { NodeID(truncatingIfNeeded: $0) }
        generator.shuffle(&order)
        var groupOf = [Int](repeating: 0, count: userCount)
        var groups: [[NodeID]] = []
        var start = 0
        while start < userCount {
            let size = max(2, communitySize / 2 + generator.next(below: communitySize))
            let members = Array(order[start..<min(userCount, start + size)])
            for member in members { groupOf[Int(member)] = groups.count }
            groups.append(members)
            start += size
        }
        // Each edge keeps its first end (so popularity stays heavy-tailed); an inside edge moves its second end
        // into the first end's group.
        return global.map { a, b in
            guard generator.nextUnitInterval() < inside else { return (a, b) }
            let group = groups[groupOf[Int(a)]]
            return (a, group[generator.next(below: group.count)])
        }
    }
}

/// Vose's alias method: constant-time sampling of an index in proportion to fixed weights.
struct AliasTable {
    private var acceptance: [Double]
    private var alias: [UInt32]

    init(weights: [Double]) {
        let count = weights.count
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(count) / total }
        acceptance = [Double](repeating: 1, count: count)
        alias = (0..<count).map { UInt32(truncatingIfNeeded: $0) }
        var small: [Int] = []
        var large: [Int] = []
        for (index, weight) in scaled.enumerated() {
            if weight < 1 { small.append(index) } else { large.append(index) }
        }
        while let under = small.popLast(), let over = large.last {
            acceptance[under] = scaled[under]
            alias[under] = UInt32(truncatingIfNeeded: over)
            scaled[over] -= 1 - scaled[under]
            if scaled[over] < 1 {
                large.removeLast()
                small.append(over)
            }
        }
    }

    /// An index drawn in proportion to its weight.
    @inline(__always)
    func sample(using generator: inout SplitMix64) -> Int {
        let bits = generator.next()
        let column = Int(bits.multipliedFullWidth(by: UInt64(acceptance.count)).high)
        let coin = Double(generator.next() >> 11) * 0x1p-53
        return coin < acceptance[column] ? column : Int(alias[column])
    }
}
