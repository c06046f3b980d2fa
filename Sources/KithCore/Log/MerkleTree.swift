import Crypto

/// A 32-byte SHA-256 digest.
public typealias Digest32 = [UInt8]

/// Merkle tree hashing as in RFC 6962 §2.1 (Certificate Transparency), used by the processing log
/// (SEC-08, ACC-11): leaves are `SHA-256(0x00 ‖ entry)`, interior nodes `SHA-256(0x01 ‖ left ‖ right)`.
public enum MerkleTree {
    public static func leafHash(_ entry: some Sequence<UInt8>) -> Digest32 {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        let hashed: Void? = entry.withContiguousStorageIfAvailable { buffer in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        if hashed == nil { hasher.update(data: Array(entry)) }
        return bytes(of: hasher.finalize())
    }

    /// Hashed from one buffer on the stack: verifying a log of a million entries takes a million of these.
    public static func nodeHash(_ left: Digest32, _ right: Digest32) -> Digest32 {
        withUnsafeTemporaryAllocation(byteCount: 1 + left.count + right.count, alignment: 1) { buffer in
            buffer[0] = 1
            left.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyMemory(from: $0) }
            right.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[(1 + left.count)...]).copyMemory(from: $0)
            }
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            return bytes(of: hasher.finalize())
        }
    }

    static func bytes(of digest: SHA256.Digest) -> Digest32 { digest.withUnsafeBytes { Array($0) } }

    /// The hash of the empty tree.
    public static let emptyRoot: Digest32 = Array(SHA256.hash(data: [UInt8]()))

    /// The Merkle tree hash of `leaves` (leaf hashes), RFC 6962 `MTH`.
    public static func root(_ leaves: ArraySlice<Digest32>) -> Digest32 {
        switch leaves.count {
        case 0: return emptyRoot
        case 1: return leaves[leaves.startIndex]
        default:
            let split = largestPowerOfTwo(below: leaves.count)
            let middle = leaves.startIndex + split
            return nodeHash(root(leaves[leaves.startIndex..<middle]), root(leaves[middle...]))
        }
    }

    /// The audit path for leaf `index` in the tree of `leaves`, RFC 6962 `PATH(m, D[n])`.
    public static func inclusionProof(index: Int, leaves: ArraySlice<Digest32>) -> [Digest32] {
        precondition(index >= 0 && index < leaves.count)
        if leaves.count == 1 { return [] }
        let split = largestPowerOfTwo(below: leaves.count)
        let middle = leaves.startIndex + split
        if index < split {
            return inclusionProof(index: index, leaves: leaves[leaves.startIndex..<middle])
                + [root(leaves[middle...])]
        }
        return inclusionProof(index: index - split, leaves: leaves[middle...])
            + [root(leaves[leaves.startIndex..<middle])]
    }

    /// The audit paths of several leaves in one pass over the tree, each equal to
    /// ``inclusionProof(index:leaves:)`` of its leaf: every subtree root is computed once, so `k` paths
    /// cost one tree's hashing rather than `k` (a person's export proves all their entries).
    public static func inclusionProofs(indices: Set<Int>, leaves: ArraySlice<Digest32>) -> [Int: [Digest32]] {
        var paths: [Int: [Digest32]] = [:]
        func visit(_ slice: ArraySlice<Digest32>, _ targets: [Int]) -> Digest32 {
            if slice.count == 1 { return slice[slice.startIndex] }
            let middle = slice.startIndex + largestPowerOfTwo(below: slice.count)
            let leftTargets = targets.filter { $0 < middle }
            let rightTargets = targets.filter { $0 >= middle }
            let left = leftTargets.isEmpty ? root(slice[..<middle]) : visit(slice[..<middle], leftTargets)
            let right = rightTargets.isEmpty ? root(slice[middle...]) : visit(slice[middle...], rightTargets)
            for target in leftTargets { paths[target, default: []].append(right) }
            for target in rightTargets { paths[target, default: []].append(left) }
            return nodeHash(left, right)
        }
        let targets = indices.filter { leaves.indices.contains($0) }.sorted()
        guard !targets.isEmpty else { return [:] }
        if leaves.count == 1 { return [targets[0]: []] }
        _ = visit(leaves, targets)
        return paths
    }

    /// Verifies an audit path (RFC 9162 §2.1.3.2).
    public static func verifyInclusion(
        leafHash: Digest32,
        index: Int,
        treeSize: Int,
        proof: [Digest32],
        root expected: Digest32
    ) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == expected
    }

    static func largestPowerOfTwo(below n: Int) -> Int {
        precondition(n > 1)
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}

/// The right edge of a Merkle tree: the roots of its perfect subtrees, largest first.
///
/// Appending a leaf and computing the root are O(log n), so the processing log can extend its tree
/// inside each write transaction without reading old entries, and verification can check every signed
/// tree head while streaming the entries once.
public struct MerkleFrontier: Sendable, Equatable {
    public private(set) var size: Int
    /// Subtree roots, one per set bit of `size`, from the most significant bit down.
    public private(set) var nodes: [Digest32]

    public init() {
        size = 0
        nodes = []
    }

    public init?(size: Int, nodes: [Digest32]) {
        guard size >= 0, size.nonzeroBitCount == nodes.count, nodes.allSatisfy({ $0.count == 32 }) else {
            return nil
        }
        self.size = size
        self.nodes = nodes
    }

    public mutating func append(leafHash: Digest32) {
        nodes.append(leafHash)
        var merged = size
        while merged & 1 == 1 {
            let right = nodes.removeLast()
            let left = nodes.removeLast()
            nodes.append(MerkleTree.nodeHash(left, right))
            merged >>= 1
        }
        size += 1
    }

    /// The RFC 6962 tree hash of the leaves appended so far.
    public var root: Digest32 {
        guard var hash = nodes.last else { return MerkleTree.emptyRoot }
        for node in nodes.dropLast().reversed() {
            hash = MerkleTree.nodeHash(node, hash)
        }
        return hash
    }

    /// A compact serialisation: the concatenated subtree roots.
    public var serialized: [UInt8] { nodes.flatMap { $0 } }

    public init?(size: Int, serialized: [UInt8]) {
        guard serialized.count % 32 == 0 else { return nil }
        let nodes = stride(from: 0, to: serialized.count, by: 32).map { Array(serialized[$0..<$0 + 32]) }
        self.init(size: size, nodes: nodes)
    }
}

extension Array where Element == UInt8 {
    /// The bytes of lower- or upper-case hexadecimal text; `nil` for anything else.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self = bytes
    }
}
