import KithCore
import Testing

@Suite("Merkle tree (RFC 6962)")
struct MerkleTreeTests {
    static func leaves(_ count: Int) -> [Digest32] {
        (0..<count).map { MerkleTree.leafHash(Array("entry-\($0)".utf8)) }
    }

    @Test("the empty tree hashes to SHA-256 of nothing")
    func emptyRoot() {
        #expect(MerkleTree.emptyRoot.hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(MerkleFrontier().root == MerkleTree.emptyRoot)
    }

    @Test("leaf and node hashes are domain-separated")
    func domainSeparation() {
        // RFC 6962 test vector: the leaf hash of the empty string.
        #expect(
            MerkleTree.leafHash([UInt8]()).hexString
                == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        )
    }

    @Test("the frontier's root equals the recursive tree hash at every size", arguments: [1, 2, 3, 5, 8, 13, 64, 100])
    func frontierMatchesRecursion(size: Int) {
        let leaves = Self.leaves(size)
        var frontier = MerkleFrontier()
        for (index, leaf) in leaves.enumerated() {
            frontier.append(leafHash: leaf)
            #expect(frontier.root == MerkleTree.root(leaves[0...index]))
        }
        let restored = MerkleFrontier(size: frontier.size, serialized: frontier.serialized)
        #expect(restored == frontier)
    }

    @Test("every inclusion proof verifies, and fails for another leaf or root", arguments: [1, 2, 7, 16, 33])
    func inclusionProofs(size: Int) {
        let leaves = Self.leaves(size)
        let root = MerkleTree.root(leaves[...])
        for index in 0..<size {
            let proof = MerkleTree.inclusionProof(index: index, leaves: leaves[...])
            #expect(
                MerkleTree.verifyInclusion(
                    leafHash: leaves[index],
                    index: index,
                    treeSize: size,
                    proof: proof,
                    root: root
                )
            )
            let other = MerkleTree.leafHash(Array("forged".utf8))
            #expect(
                !MerkleTree.verifyInclusion(leafHash: other, index: index, treeSize: size, proof: proof, root: root)
            )
            if size > 1 {
                #expect(
                    !MerkleTree.verifyInclusion(
                        leafHash: leaves[index],
                        index: (index + 1) % size,
                        treeSize: size,
                        proof: proof,
                        root: root
                    )
                )
            }
        }
    }
}
