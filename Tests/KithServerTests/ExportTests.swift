import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

extension TestApp {
    /// `person`'s export through the API, unpacked.
    func export(_ person: Person) async throws -> (document: ExportDocument, statement: String) {
        let reply = try await call(.get, "/v1/me/export", token: person.token)
        #expect(reply.status == .ok, "\(reply.body)")
        #expect(reply.headers[.contentType] == "application/zip")
        return try ExportArchive.read(reply.data)
    }
}

@Suite("Data export (DSR-01, DSR-05)")
struct ExportTests {
    @Test(
        "DSR-01 DSR-05 the export holds every exported column of every table the person has rows in, readably, with proofs",
        arguments: Backend.enabled
    )
    func exportHoldsEverything(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1, name: "Ann <Export>", fields: ["employer": "Kith Labs", "city": "杭州"])
            let bob = try await app.person(2, name: "Bob")
            let cy = try await app.person(3, name: "Cy")
            let dan = try await app.person(4, name: "Dan")
            try await DiscoveryTests.makeDiscoverable(app, token: ann.token)
            try await DiscoveryTests.makeDiscoverable(app, token: bob.token)
            for person in [ann, cy] { _ = try await app.grant(.contactDiscovery, token: person.token) }
            _ = try await DiscoveryTests.upload(app, token: ann.token, [bob.phone])
            #expect(
                DiscoveryTests.matchedUsers(try await DiscoveryTests.upload(app, token: cy.token, [ann.phone])) == [
                    ann.id
                ]
            )
            try await app.connect(ann, bob)
            for (from, to) in [(ann, bob), (bob, ann)] {
                _ = try await app.call(
                    .post,
                    "/v1/users/\(to.id)/endorsements",
                    token: from.token,
                    json: ["preset": "reliable"]
                )
            }
            _ = try await app.call(.post, "/v1/me/blocks", token: dan.token, json: ["userId": ann.id])
            _ = try await app.call(.post, "/v1/me/blocks", token: ann.token, json: ["userId": cy.id])

            let (document, statement) = try await app.export(ann)
            #expect(document.schema == ExportDocument.schemaID && document.version == 1)
            #expect(document.userId == ann.id && document.phone == ann.phone)

            // Derived from the inventory: every table with an exported column that holds a row of Ann's is
            // in the export with every exported column, row for row.
            let user = UserID(rawValue: ann.id)
            var checked = 0
            for table in DataInventory.kith.tables {
                let exported = table.columns.filter { ($0.export ?? table.export) == .toSubject }.map(\.name)
                let (matches, _) = DataExport.selectors(of: table, user: user)
                guard !exported.isEmpty, !matches.isEmpty else { continue }
                var query: SQLQueryString = "SELECT COUNT(*) AS n FROM \(ident: table.name) WHERE "
                for (position, match) in matches.enumerated() {
                    if position > 0 { query += " OR " }
                    query += "\(ident: match.column) = \(bind: match.value)"
                }
                let count = query
                let held = try await app.services.store.database.read { sql in
                    try await sql.raw(count).first()?.decode(column: "n", as: Int.self) ?? 0
                }
                let rows = document.tables[table.name] ?? []
                #expect(rows.count == held, "\(table.name): \(held) rows held, \(rows.count) exported")
                for row in rows { #expect(Set(row.keys) == Set(exported), "\(table.name) misses columns") }
                if held > 0 { checked += 1 }
            }
            #expect(checked >= 8, "the scenario reaches most tables: \(checked)")
            // Values as given: the profile, the number decrypted, consent evidence.
            #expect(document.tables["profiles"]?.first?["display_name"] == .text("Ann <Export>"))
            #expect(document.tables["users"]?.first?["phone_cipher"] == .text(ann.phone))
            #expect(document.tables["consents"]?.allSatisfy { $0["text_sha256"] != .null } == true)
            #expect(document.tables["endorsements"]?.count == 2)

            // Other people's data only as they let Ann see it: Cy has her number (a fact, not a name), Dan's
            // block of her is not told; her own block of Cy is hers.
            #expect(document.facts.contains { $0.table == "contact_edges" && $0.count == 1 })
            #expect(document.tables["contact_edges"]?.allSatisfy { $0["owner_id"] == .text(ann.id) } == true)
            #expect(document.tables["blocks"]?.map { $0["blocked_id"] } == [.text(cy.id)])
            let json = try JSONEncoder().encode(document.tables)
            #expect(!String(decoding: json, as: UTF8.self).contains(dan.id), "the export says who blocked Ann")
            #expect(document.withheld.contains { $0.table == "users" && $0.column == "registration_lock" })
            // Nor does the log tell: Dan's block stays in the chain, out of Ann's export, counted as withheld.
            #expect(!document.withheld.contains { $0.table == "processing_log" }, "not even counted")

            // Every log entry about Ann, each proved against the signed head, offline.
            let pseudonym = try await LogCoverageTests.pseudonym(of: ann.id, app)
            // Those in the tree the export was proved against (the export's own entry comes after).
            let mine = try await loggedEntries(app.services.store).filter {
                ($0.subject == pseudonym || $0.actor == pseudonym) && $0.seq <= document.log.treeHead.treeSize
            }
            let blocks = document.log.entries.compactMap {
                try? JSONDecoder().decode(ProcessingEntry.self, from: Data($0.entry.utf8))
            }.filter { $0.detail == "person blocked" }
            #expect(!blocks.isEmpty && blocks.allSatisfy { $0.actor == pseudonym }, "Ann's own block only")
            #expect(document.log.entries.count == mine.count - 1 && !mine.isEmpty, "all but Dan's block of Ann")
            #expect(ExportArchive.verify(document) == [])
            let published = app.services.store.log.publicKeyBase64
            #expect(ExportArchive.verify(document, publicKey: published) == [])
            var forged = document
            forged.log.entries[0].entry = forged.log.entries[0].entry.replacingOccurrences(
                of: "\"seq\"",
                with: "\"seq \""
            )
            #expect(ExportArchive.verify(forged) == ["entry \(forged.log.entries[0].seq) is not in the signed tree"])
            #expect(!ExportArchive.verify(document, publicKey: Curve25519PublicKeys.other).isEmpty)

            // The statement is text in both languages, with the values escaped.
            #expect(statement.contains("个人信息副本") && statement.contains("Your Kith data"))
            #expect(statement.contains("Ann &lt;Export&gt;") && !statement.contains("Ann <Export>"))
            #expect(statement.contains("1 people who use Kith have your number"))

            // The export is logged as Ann's own act, with counts only.
            let entry = try #require(try await loggedEntries(app.services.store).last)
            #expect(entry.detail.hasPrefix("data export: ") && entry.subject == pseudonym)
        }
    }

    @Test("DSR-01 the schema of data.json is published and names every field of the document")
    func schemaIsPublished() async throws {
        try await TestApp.run(.sqlite) { app in
            let reply = try await app.call(.get, "/schemas/export-v1.json")
            #expect(reply.status == .ok)
            let schema = reply.json
            #expect(schema["$id"] as? String == ExportDocument.schemaID)
            let required = Set(schema["required"] as? [String] ?? [])
            let ann = try await app.person(1)
            let (document, _) = try await app.export(ann)
            let fields = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(document)) as? [String: Any]
            #expect(required == Set(fields?.keys.map { $0 } ?? []))
        }
    }
}

/// A public key that is not the log's.
enum Curve25519PublicKeys {
    static let other = Data(repeating: 7, count: 32).base64EncodedString()
}
