import KithCore
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("Processing log (SEC-08, ACC-11)")
struct ProcessingLogTests {
    /// A system entry of the tests, with nothing about anyone.
    static let draft = EntryDraft(
        actor: "system",
        subject: nil,
        purpose: .securityLog,
        basis: .legalObligation,
        basisRef: "legal-obligation",
        initiation: Initiation(kind: .system, action: "test"),
        detail: "test entry"
    )

    static func fill(_ store: KithStore, count: Int) async throws {
        // Mixed transaction sizes, crossing a checkpoint boundary.
        var written = 0
        var size = 1
        while written < count {
            let batch = min(size, count - written)
            let drafts = (0..<batch).map { i in
                var d = draft
                d.detail = "test entry \(written + i)"
                return d
            }
            _ = try await store.database.transaction { sql in
                try await store.log.append(drafts, at: store.clock.nowMillis, on: sql)
            }
            written += batch
            size = size * 3 % 700 + 1
        }
    }

    @Test("SEC-08 honest log verifies", arguments: Backend.enabled)
    func honestLogVerifies(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            try await Self.fill(store, count: 2100)
            let report = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(report.isIntact, "\(report)")
            #expect(report.entries == 2100)
            #expect(report.checkpointsChecked == 2)
        }
    }

    @Test("SEC-08 one changed byte is detected", arguments: Backend.enabled)
    func alteredByte(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            try await Self.fill(store, count: 300)
            try await store.database.transaction { sql in
                try await sql.raw(
                    "UPDATE processing_log SET entry = REPLACE(entry, 'test entry 117', 'test entry 118') WHERE seq = 118"
                ).run()
            }
            let report = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(!report.isIntact)
        }
    }

    @Test("SEC-08 deleted entry is detected", arguments: Backend.enabled)
    func deletedEntry(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            try await Self.fill(store, count: 300)
            try await store.database.transaction { sql in
                try await sql.raw("DELETE FROM processing_log WHERE seq = 42").run()
            }
            let report = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(!report.isIntact)
            #expect(report.problems.contains { $0.contains("42") })

            // Removing the last entry is caught by the signed head.
            try await store.database.transaction { sql in
                try await sql.raw(
                    "INSERT INTO processing_log (seq, at, subject_ref, purpose, entry) SELECT 42, at, subject_ref, purpose, entry FROM processing_log WHERE seq = 41"
                ).run()
            }
            try await store.database.transaction { sql in
                try await sql.raw("DELETE FROM processing_log WHERE seq = 300").run()
            }
            let tail = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(tail.problems.contains { $0.contains("signed head covers 300") })
        }
    }

    @Test("SEC-08 swapped entries are detected", arguments: Backend.enabled)
    func swappedEntries(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            try await Self.fill(store, count: 300)
            try await store.database.transaction { sql in
                let a = try await sql.raw("SELECT entry FROM processing_log WHERE seq = 10").first()!.decode(
                    column: "entry",
                    as: String.self
                )
                let b = try await sql.raw("SELECT entry FROM processing_log WHERE seq = 11").first()!.decode(
                    column: "entry",
                    as: String.self
                )
                try await sql.raw("UPDATE processing_log SET entry = \(bind: b) WHERE seq = 10").run()
                try await sql.raw("UPDATE processing_log SET entry = \(bind: a) WHERE seq = 11").run()
            }
            let report = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(!report.isIntact)
        }
    }

    @Test("a forged tree head (another signing key) is detected", arguments: Backend.enabled)
    func forgedSignature(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            try await Self.fill(store, count: 10)
            let other = ProcessingLog(keys: KithKeys.generate())
            let report = try await ProcessingLog.verify(on: store.database, publicKey: other.publicKey)
            #expect(!report.isIntact)
        }
    }

    @Test("an inclusion proof from the store verifies against the signed root", arguments: Backend.enabled)
    func inclusionProof(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            try await Self.fill(store, count: 77)
            let proof = try #require(try await ProcessingLog.inclusionProof(seq: 33, on: store.database))
            let report = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(proof.root == report.root)
            let leaf = MerkleTree.leafHash(Array(proof.entry.utf8))
            let path = proof.auditPath.map(Self.bytes)
            #expect(leaf.hexString == proof.leafHash)
            #expect(
                MerkleTree.verifyInclusion(
                    leafHash: leaf,
                    index: 32,
                    treeSize: 77,
                    proof: path,
                    root: Self.bytes(report.root)
                )
            )
        }
    }

    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { i in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }
}
