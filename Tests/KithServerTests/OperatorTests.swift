import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import Testing

@testable import KithStore

@Suite("Operators (SEC-02) and message evidence (MSG-04)")
struct OperatorTests {
    @Test(
        "SEC-02 MSG-04 an operator reads a message's authorising act with a proof that verifies; the read is logged",
        arguments: Backend.enabled
    )
    func messageEvidence(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let (token, user) = try await app.signUp("+8613800000601")
            // A sign-in code for the registered number: its message concerns the account.
            #expect(
                try await app.call(.post, "/v1/auth/verifications", json: ["phone": "+8613800000601"]).status
                    == .accepted
            )
            let messageID = try #require(app.outboxMessages().last?["messageId"])
            let credential = try await app.services.operators.create(
                name: "dpo.audit",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            await #expect(throws: KithError.self, "names are unique") {
                try await app.services.operators.create(
                    name: "dpo.audit",
                    initiation: .init(kind: .system, action: "t")
                )
            }
            let path = "/v1/operator/messages/\(messageID)/evidence"

            #expect(try await app.call(.get, path).status == .unauthorized)
            let person = try await app.call(.get, path, token: token)
            #expect(person.status == .forbidden, "a person's session is not an operator's")
            #expect(person.string("code") == "forbidden")
            #expect(try await app.call(.get, path, token: "kop_not-a-token").status == .unauthorized)
            #expect(
                try await app.call(.get, "/v1/operator/messages/m_unknown/evidence", token: credential.token).status
                    == .notFound
            )

            let reply = try await app.call(.get, path, token: credential.token)
            #expect(reply.status == .ok)
            #expect(!reply.body.contains("13800000601"), "the recipient is never in the evidence")
            let evidence = try JSONDecoder().decode(MessageEvidence.self, from: Data(reply.body.utf8))
            #expect(evidence.kind == "verification")
            #expect(evidence.entry.evidence?["messageId"] == messageID)
            #expect(evidence.sentAt != nil)
            // The proof checks out with nothing but the log's public key.
            let leaf = MerkleTree.leafHash(evidence.proof.entry.utf8)
            #expect(leaf.hexString == evidence.proof.leafHash)
            #expect(
                MerkleTree.verifyInclusion(
                    leafHash: leaf,
                    index: evidence.proof.seq - 1,
                    treeSize: evidence.treeHead.treeSize,
                    proof: evidence.proof.auditPath.map { [UInt8](hex: $0)! },
                    root: [UInt8](hex: evidence.treeHead.root)!
                )
            )
            #expect(
                ProcessingLog.checkHead(
                    size: evidence.treeHead.treeSize,
                    rootHex: evidence.treeHead.root,
                    signature: evidence.treeHead.signature,
                    publicKey: app.services.store.log.publicKey
                )
            )
            // The operator's read is an act of theirs about the person the message concerned.
            let pseudonym = try await app.services.store.database.read { sql in
                try await SubjectKeys(store: app.services.store).pseudonym(of: UserID(rawValue: user), on: sql)
            }
            let entries = try await loggedEntries(app.services.store)
            #expect(
                entries.contains {
                    $0.actor == "operator:dpo.audit" && $0.subject == pseudonym
                        && $0.initiation.action == "getMessageEvidence"
                }
            )
        }
    }
}
