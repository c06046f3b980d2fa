import Crypto
import Foundation
import KithCore
import SQLKit

/// A processing act about to be logged, before it has a sequence number.
public struct EntryDraft: Sendable {
    public var actor: String
    public var subject: String?
    public var purpose: PurposeID
    public var basis: LegalBasis
    public var basisRef: String?
    public var initiation: Initiation
    public var detail: String
    public var evidence: [String: String]?

    public init(
        actor: String,
        subject: String?,
        purpose: PurposeID,
        basis: LegalBasis,
        basisRef: String?,
        initiation: Initiation,
        detail: String,
        evidence: [String: String]? = nil
    ) {
        self.actor = actor
        self.subject = subject
        self.purpose = purpose
        self.basis = basis
        self.basisRef = basisRef
        self.initiation = initiation
        self.detail = detail
        self.evidence = evidence
    }
}

/// The append-only, hash-chained processing log (SEC-01, SEC-08, ACC-11).
///
/// Entries are leaves of an RFC 6962 Merkle tree. Each append, inside the caller's transaction, extends
/// the tree's frontier and stores a tree head signed with Ed25519 (once per group commit on SQLite, by the
/// last transaction of the batch: ``CommitBatch``); a checkpoint head is kept every
/// ``checkpointInterval`` entries. ``verify(on:publicKey:)`` recomputes the tree from the entries and
/// detects any altered, removed, inserted or reordered entry.
public struct ProcessingLog: Sendable {
    public static let checkpointInterval = 1024
    let keys: KithKeys

    public init(keys: KithKeys) { self.keys = keys }

    public var publicKey: Curve25519.Signing.PublicKey { keys.logSigning.publicKey }

    /// The public key as text: base64 of the raw Ed25519 key, as the operator publishes it.
    public var publicKeyBase64: String { publicKey.rawRepresentation.base64EncodedString() }

    /// Appends entries in the caller's transaction and returns them with their sequence numbers.
    ///
    /// The `UPDATE` of the single state row takes the row lock first, so concurrent appenders on
    /// PostgreSQL queue up behind each other and the chain stays linear; it returns the state it locked.
    @discardableResult
    func append(_ drafts: [EntryDraft], at now: Int64, on sql: any SQLDatabase) async throws -> [ProcessingEntry] {
        guard !drafts.isEmpty else { return [] }
        guard
            let state = try await sql.raw("UPDATE log_state SET size = size WHERE id = 1 RETURNING size, frontier")
                .first()
        else {
            throw KithError(.internalError, detail: "The processing log is not initialised; run kith migrate.")
        }
        let size = try state.decode(column: "size", as: Int.self)
        let frontierText = try state.decode(column: "frontier", as: String.self)
        guard let frontierBytes = Data(base64Encoded: frontierText),
            var frontier = MerkleFrontier(size: size, serialized: Array(frontierBytes))
        else {
            throw KithError(.internalError, detail: "The processing log state is damaged; run kith ledger verify.")
        }

        var entries: [ProcessingEntry] = []
        entries.reserveCapacity(drafts.count)
        var rows: [(Int, Int64, String?, String, String)] = []
        var checkpoints: [(Int, String, String)] = []
        for draft in drafts {
            let entry = ProcessingEntry(
                seq: frontier.size + 1,
                at: now,
                actor: draft.actor,
                subject: draft.subject,
                purpose: draft.purpose,
                basis: draft.basis,
                basisRef: draft.basisRef,
                initiation: draft.initiation,
                detail: draft.detail,
                evidence: draft.evidence
            )
            let canonical = entry.canonicalJSON()
            frontier.append(leafHash: MerkleTree.leafHash(canonical.utf8))
            rows.append((entry.seq, now, entry.subject, entry.purpose.rawValue, canonical))
            entries.append(entry)
            if frontier.size % Self.checkpointInterval == 0 {
                let root = frontier.root.hexString
                checkpoints.append((frontier.size, root, try sign(size: frontier.size, rootHex: root)))
            }
        }
        for chunk in stride(from: 0, to: rows.count, by: 400) {
            var insert = sql.insert(into: "processing_log").columns("seq", "at", "subject_ref", "purpose", "entry")
            for row in rows[chunk..<min(chunk + 400, rows.count)] {
                insert = insert.values(
                    SQLBind(row.0),
                    SQLBind(row.1),
                    SQLBind(row.2),
                    SQLBind(row.3),
                    SQLBind(row.4)
                )
            }
            try await insert.run()
        }
        for checkpoint in checkpoints {
            try await sql.raw(
                """
                INSERT INTO log_checkpoints (tree_size, root, signature, at)
                VALUES (\(bind: checkpoint.0), \(bind: checkpoint.1), \(bind: checkpoint.2), \(bind: now))
                """
            ).run()
        }
        let root = frontier.root.hexString
        // In a group commit only the head the batch commits is ever read: sign that one, once, before the
        // batch commits; the heads of the transactions before it stay unsigned ('') inside the batch.
        let log = self
        let signature =
            CommitBatch.current?.deferOnce("processing-log-head", { sql in try await log.signHead(on: sql) }) == true
            ? "" : try sign(size: frontier.size, rootHex: root)
        try await sql.raw(
            """
            UPDATE log_state SET size = \(bind: frontier.size), frontier = \(bind: Data(frontier.serialized).base64EncodedString()),
            root = \(bind: root), signature = \(bind: signature) WHERE id = 1
            """
        ).run()
        return entries
    }

    /// Signs the tree head `log_state` holds in the transaction of `sql`.
    private func signHead(on sql: any SQLDatabase) async throws {
        guard let state = try await sql.raw("SELECT size, root FROM log_state WHERE id = 1").first() else {
            throw KithError(.internalError, detail: "The processing log is not initialised; run kith migrate.")
        }
        let signature = try sign(
            size: try state.decode(column: "size", as: Int.self),
            rootHex: try state.decode(column: "root", as: String.self)
        )
        try await sql.raw("UPDATE log_state SET signature = \(bind: signature) WHERE id = 1").run()
    }

    func sign(size: Int, rootHex: String) throws -> String {
        try keys.logSigning.signature(for: Array(Self.headMessage(size: size, rootHex: rootHex).utf8))
            .base64EncodedString()
    }

    static func headMessage(size: Int, rootHex: String) -> String { "kith-log-head-v1|\(size)|\(rootHex)" }

    static func checkHead(
        size: Int,
        rootHex: String,
        signature: String,
        publicKey: Curve25519.Signing.PublicKey
    ) -> Bool {
        guard let bytes = Data(base64Encoded: signature) else { return false }
        return publicKey.isValidSignature(bytes, for: Array(headMessage(size: size, rootHex: rootHex).utf8))
    }
}

/// The outcome of ``ProcessingLog/verify(on:publicKey:)``.
public struct LogVerification: Sendable, CustomStringConvertible {
    public var entries: Int
    public var root: String
    public var checkpointsChecked: Int
    /// What is wrong, in the order found; empty when the log is intact.
    public var problems: [String]

    public var isIntact: Bool { problems.isEmpty }

    public var description: String {
        if isIntact {
            return "processing log intact: \(entries) entries, \(checkpointsChecked) checkpoints, root \(root)"
        }
        return "processing log FAILED verification (\(entries) entries read):\n"
            + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}

/// A tree head signed with the log's Ed25519 key: `kith-log-head-v1|<size>|<root hex>`.
public struct SignedTreeHead: Sendable, Codable {
    public var treeSize: Int
    public var root: String
    /// Base64 Ed25519 signature.
    public var signature: String
}

/// An RFC 6962 inclusion proof for one entry.
public struct InclusionProof: Sendable, Codable {
    public var seq: Int
    public var treeSize: Int
    public var leafHash: String
    public var root: String
    public var auditPath: [String]
    public var entry: String
}

extension ProcessingLog {
    /// Streams every entry in sequence order to `visit`, a page at a time; the next page is fetched
    /// while the current one is visited, so reading and hashing overlap.
    static func scan(
        on database: KithDatabase,
        _ visit: (Int, String) throws -> Void
    ) async throws {
        @Sendable func page(after: Int) async throws -> [(Int, String)] {
            try await database.scan { sql in
                try await sql.raw(
                    "SELECT seq, entry FROM processing_log WHERE seq > \(bind: after) ORDER BY seq LIMIT 20000"
                ).all().map {
                    (try $0.decode(column: "seq", as: Int.self), try $0.decode(column: "entry", as: String.self))
                }
            }
        }
        if try await database.streamLogEntries(visit) { return }
        var current = try await page(after: 0)
        while let last = current.last {
            async let next = page(after: last.0)
            for (seq, entry) in current { try visit(seq, entry) }
            current = try await next
        }
    }

    /// Recomputes the Merkle tree from the stored entries and checks it against the signed heads, then
    /// checks every consent row against the evidence its log entry holds.
    public static func verify(
        on database: KithDatabase,
        publicKey: Curve25519.Signing.PublicKey
    ) async throws
        -> LogVerification
    {
        let (state, checkpoints) = try await database.read { sql in
            let state = try await sql.raw("SELECT size, root, signature FROM log_state WHERE id = 1").first().map {
                (
                    try $0.decode(column: "size", as: Int.self), try $0.decode(column: "root", as: String.self),
                    try $0.decode(column: "signature", as: String.self)
                )
            }
            let checkpoints = try await sql.raw(
                "SELECT tree_size, root, signature FROM log_checkpoints ORDER BY tree_size"
            ).all().map {
                (
                    try $0.decode(column: "tree_size", as: Int.self), try $0.decode(column: "root", as: String.self),
                    try $0.decode(column: "signature", as: String.self)
                )
            }
            return (state, checkpoints)
        }
        var problems: [String] = []
        var frontier = MerkleFrontier()
        var nextCheckpoint = 0
        var checked = 0
        var expectedSeq = 1
        try await scan(on: database) { seq, entry in
            if seq != expectedSeq {
                if problems.count < 20 {
                    problems.append(
                        "entry \(expectedSeq)\(seq > expectedSeq + 1 ? "–\(seq - 1)" : "") missing (next is \(seq))"
                    )
                }
                expectedSeq = seq
            }
            expectedSeq += 1
            frontier.append(leafHash: MerkleTree.leafHash(entry.utf8))
            while nextCheckpoint < checkpoints.count, checkpoints[nextCheckpoint].0 <= frontier.size {
                let (size, root, signature) = checkpoints[nextCheckpoint]
                if size == frontier.size {
                    checked += 1
                    if frontier.root.hexString != root, problems.count < 20 {
                        problems.append(
                            "checkpoint at \(size) entries does not match: an entry at or before \(size) was altered, removed or reordered"
                        )
                    }
                    if !checkHead(size: size, rootHex: root, signature: signature, publicKey: publicKey),
                        problems.count < 20
                    {
                        problems.append("checkpoint at \(size) entries has an invalid signature")
                    }
                } else if problems.count < 20 {
                    problems.append("checkpoint at \(size) entries has no matching position in the log")
                }
                nextCheckpoint += 1
            }
        }
        let root = frontier.root.hexString
        if nextCheckpoint < checkpoints.count {
            problems.append(
                "\(checkpoints.count - nextCheckpoint) checkpoint(s) lie beyond the last entry: entries were removed from the end"
            )
        }
        if let (size, headRoot, signature) = state {
            if size != frontier.size {
                problems.append("the signed head covers \(size) entries but \(frontier.size) are stored")
            } else if size > 0 {
                if headRoot != root {
                    problems.append(
                        "the recomputed root does not match the signed head: an entry was altered or reordered"
                    )
                }
                if !checkHead(size: size, rootHex: headRoot, signature: signature, publicKey: publicKey) {
                    problems.append("the tree head signature is invalid")
                }
            }
        } else {
            problems.append("the log state row is missing")
        }
        // The consent evidence kept in mutable rows must still be what the chain recorded (ACC-11).
        problems += try await ConsentLedger.bindingProblems(on: database).problems
        return LogVerification(entries: frontier.size, root: root, checkpointsChecked: checked, problems: problems)
    }

    /// The inclusion proof of entry `seq` in the tree of the current signed head, with that head, so a
    /// reader can check it with the public key alone. `nil` when there is no such entry.
    public static func signedInclusionProof(
        seq: Int,
        on database: KithDatabase
    ) async throws -> (InclusionProof, SignedTreeHead)? {
        guard let (proofs, head) = try await signedInclusionProofs(seqs: [seq], on: database), let proof = proofs.first
        else { return nil }
        return (proof, head)
    }

    /// The inclusion proofs of the entries `seqs` in the tree of the current signed head, with that head,
    /// from one read of the log (a person's export, DSR-01).
    public static func signedInclusionProofs(
        seqs: Set<Int>,
        on database: KithDatabase
    ) async throws -> ([InclusionProof], SignedTreeHead)? {
        guard
            let head = try await database.read({ sql in
                try await sql.raw("SELECT size, root, signature FROM log_state WHERE id = 1").first().map {
                    SignedTreeHead(
                        treeSize: try $0.decode(column: "size", as: Int.self),
                        root: try $0.decode(column: "root", as: String.self),
                        signature: try $0.decode(column: "signature", as: String.self)
                    )
                }
            })
        else { return nil }
        var leaves: [Digest32] = []
        leaves.reserveCapacity(head.treeSize)
        var entries: [Int: String] = [:]
        try await scan(on: database) { entrySeq, entry in
            guard entrySeq <= head.treeSize else { return }
            leaves.append(MerkleTree.leafHash(entry.utf8))
            if seqs.contains(entrySeq) { entries[entrySeq] = entry }
        }
        guard leaves.count == head.treeSize, MerkleTree.root(leaves[...]).hexString == head.root else {
            throw KithError(
                .internalError,
                detail: "The processing log does not match its signed head; run kith ledger verify."
            )
        }
        let paths = MerkleTree.inclusionProofs(indices: Set(entries.keys.map { $0 - 1 }), leaves: leaves[...])
        let proofs = entries.keys.sorted().map { seq in
            InclusionProof(
                seq: seq,
                treeSize: head.treeSize,
                leafHash: leaves[seq - 1].hexString,
                root: head.root,
                auditPath: (paths[seq - 1] ?? []).map(\.hexString),
                entry: entries[seq]!
            )
        }
        return (proofs, head)
    }

    /// Checks proofs against a signed tree head with the log's public key alone: the head's signature,
    /// each entry's leaf hash and its audit path (what `kith ledger verify-export` does offline).
    /// - Returns: what is wrong; empty when every proof holds.
    public static func check(
        _ proofs: [InclusionProof],
        head: SignedTreeHead,
        publicKey: Curve25519.Signing.PublicKey
    ) -> [String] {
        var problems: [String] = []
        if !checkHead(size: head.treeSize, rootHex: head.root, signature: head.signature, publicKey: publicKey) {
            problems.append("the tree head's signature does not verify with this public key")
        }
        guard let root = Digest32(hex: head.root) else { return problems + ["the tree head's root is not a hash"] }
        for proof in proofs {
            let leaf = MerkleTree.leafHash(proof.entry.utf8)
            let path = proof.auditPath.compactMap(Digest32.init(hex:))
            if leaf.hexString != proof.leafHash || path.count != proof.auditPath.count
                || proof.treeSize != head.treeSize
                || !MerkleTree.verifyInclusion(
                    leafHash: leaf,
                    index: proof.seq - 1,
                    treeSize: head.treeSize,
                    proof: path,
                    root: root
                )
            {
                problems.append("entry \(proof.seq) is not in the signed tree")
            }
        }
        return problems
    }

    /// Builds and self-checks the inclusion proof of entry `seq` in the current tree.
    public static func inclusionProof(seq: Int, on database: KithDatabase) async throws -> InclusionProof? {
        var leaves: [Digest32] = []
        var target: String?
        try await scan(on: database) { entrySeq, entry in
            leaves.append(MerkleTree.leafHash(entry.utf8))
            if entrySeq == seq { target = entry }
        }
        guard let target, seq >= 1, seq <= leaves.count else { return nil }
        let path = MerkleTree.inclusionProof(index: seq - 1, leaves: leaves[...])
        let root = MerkleTree.root(leaves[...])
        return InclusionProof(
            seq: seq,
            treeSize: leaves.count,
            leafHash: leaves[seq - 1].hexString,
            root: root.hexString,
            auditPath: path.map(\.hexString),
            entry: target
        )
    }
}
