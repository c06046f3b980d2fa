import KithCore
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("The data inventory (CON-00, SEC-07, GEN-02, ACC-01)")
struct DataInventoryTests {
    static let inventory = DataInventory.kith

    @Test("CON-00 SEC-07 every column of the schema is classified in the inventory", arguments: Backend.enabled)
    func everyColumnClassified(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let schema = try await store.database.schemaColumns()
            #expect(schema.contains(SchemaColumn("users", "phone_index")))
            #expect(schema.contains(SchemaColumn("kith_migrations", "id")))
            let discrepancies = Self.inventory.discrepancies(with: schema)
            #expect(discrepancies.isEmpty, "\(discrepancies)")
        }
    }

    @Test(
        "CON-00 SEC-07 a column added without an inventory entry fails the check, naming that column",
        arguments: Backend.enabled
    )
    func unclassifiedColumnNamed(backend: Backend) async throws {
        try await withTestDatabaseURL(backend) { url in
            try await withDatabase(url: url, logger: quietLogger()) { database in
                let unreleased = Migration(
                    id: "9999-test-unclassified-column",
                    statements: ["ALTER TABLE users ADD COLUMN nickname TEXT"]
                )
                try await database.migrate(Migrations.all + [unreleased], logger: quietLogger())
                let discrepancies = try await Self.inventory.discrepancies(in: database)
                #expect(discrepancies.unclassified == [SchemaColumn("users", "nickname")])
                #expect(discrepancies.undeclaredInSchema.isEmpty)
                #expect(!discrepancies.isEmpty)
                #expect(discrepancies.description.contains("users.nickname"))
            }
        }
    }

    @Test("CON-00 SEC-07 an inventory entry for a column the schema lacks fails the check, naming it")
    func declaredButMissing() {
        var inventory = Self.inventory
        inventory.tables.append(
            InventoryTable(
                "uploaded_contact",
                subjects: [SubjectColumn("owner_id")],
                retention: .whileAccountExists,
                columns: [InventoryColumn("owner_id", .uploadedContact, [.contactDiscovery])]
            )
        )
        let discrepancies = inventory.discrepancies(with: Self.inventory.declaredColumns)
        #expect(discrepancies.undeclaredInSchema == [SchemaColumn("uploaded_contact", "owner_id")])
        #expect(discrepancies.unclassified.isEmpty)
    }

    @Test("CON-00 uploaded address-book data is classified as personal information of the contacts")
    func addressBookIsThirdPartyData() throws {
        let edges = try #require(Self.inventory.table("contact_edges"))
        let contact = try #require(edges.subjects.first { $0.column == "contact_id" })
        #expect(contact.kind == .contact)
        #expect(contact.export == .factOnlyNeverSource)
        #expect(edges.columns.allSatisfy { $0.category == .uploadedContact && $0.purposes.first == .contactDiscovery })
        #expect(edges.retention == .untilConsentWithdrawn(.contactDiscovery))
        let tokens = try #require(Self.inventory.table("discovery_tokens"))
        #expect(tokens.column("token_hash")?.category == .uploadedNumbersDerived)
        #expect(tokens.column("number_count")?.category == .uploadedNumbersDerived)
        let upload = try #require(Self.inventory.holders.first { $0.name == "ContactDiscovery.match" })
        #expect(upload.subjects == [.contact])
        #expect(upload.retention == .duringRequest)
    }

    @Test("GEN-02 SEC-07 every personal column and key maps to a purpose of the notice, a basis and a retention")
    func everyFieldHasPurposeBasisRetention() {
        let catalogue = PurposeCatalogue.standard
        for entry in Self.inventory.entries where entry.category.isPersonal {
            #expect(!entry.purposes.isEmpty, "\(entry.table).\(entry.column) has no purpose")
            for (purpose, basis) in entry.bases(in: catalogue) {
                #expect(
                    basis != nil,
                    "\(entry.table).\(entry.column): purpose \(purpose.rawValue) is not in the notice"
                )
            }
            #expect(entry.retention != .notApplicable, "\(entry.table).\(entry.column) has no retention")
            #expect(!entry.subjects.isEmpty, "\(entry.table).\(entry.column) says whose it is nowhere")
            for key in entry.keyPatterns {
                #expect(!key.purposes.isEmpty && key.purposes.allSatisfy { catalogue.purpose($0) != nil })
                #expect(key.retention.expiry(nowMillis: 0) != nil, "\(key.pattern) is never swept")
            }
        }
        for holder in Self.inventory.holders {
            #expect(!holder.purposes.isEmpty && holder.purposes.allSatisfy { catalogue.purpose($0) != nil })
        }
        #expect(Self.inventory.purposes.isSubset(of: Set(catalogue.current.purposes.map(\.id))))
    }

    @Test("CON-00 SEC-07 the tables holding no personal data are declared as such, explicitly")
    func technicalTablesExplicit() throws {
        // Partners are organisations that refer people (ACC-05), and their codes carry counts only.
        let technical = [
            "kith_migrations", "log_state", "log_checkpoints", "code_range_blocks", "partners", "referral_codes",
        ]
        for name in technical {
            let table = try #require(Self.inventory.table(name))
            #expect(!table.holdsPersonalData)
            #expect(table.note != nil)
        }
        #expect(Self.inventory.tables.filter { !$0.holdsPersonalData }.count == technical.count)
    }

    @Test("CON-00 identifiers inside rate-limit keys are recorded with their key patterns")
    func keyPatterns() throws {
        let bucket = try #require(Self.inventory.table("rate_buckets")?.column("bucket"))
        let patterns = Dictionary(uniqueKeysWithValues: bucket.keyPatterns.map { ($0.pattern, $0) })
        #expect(patterns["discovery:<user id>"]?.subject == .user)
        #expect(patterns["connection-requests:<user id>"]?.subject == .user)
        #expect(patterns["otp-number:<blind index of the phone number>"]?.category == .phoneNumberKeyedHash)
        for prefix in ["otp-ip:", "otp-network:", "verify-ip:", "discovery-ip:"] {
            let ip = try #require(bucket.keyPatterns.first { $0.prefix == prefix })
            #expect(ip.category == .clientAddressKeyedHash && ip.subject == .clientAddress)
            #expect(ip.purposes == [.abusePrevention])
        }
    }

    @Test("SEC-01 ACC-11 the processing log is kept at least 3 years and never swept")
    func logKept() throws {
        let log = try #require(Self.inventory.table("processing_log"))
        guard case .years(let years) = log.retention else {
            Issue.record("processing_log retention is \(log.retention)")
            return
        }
        #expect(years >= 3)
        #expect(log.erase == .destroySubjectKey)
        #expect(!Self.inventory.sweepRules.contains { $0.table == "processing_log" || $0.table == "consents" })
    }

    @Test("SEC-05 a rate-limit bucket is swept only once its limit has filled it up again")
    func bucketWindowsCoverLimits() throws {
        let bucket = try #require(Self.inventory.table("rate_buckets")?.column("bucket"))
        func window(_ prefix: String) -> Int64? {
            guard case .window(let seconds, _, _)? = bucket.keyPatterns.first(where: { $0.prefix == prefix })?.retention
            else { return nil }
            return seconds
        }
        let policy = RateLimitPolicy()
        let codes = CodeSendingPolicy()
        let limits: [(String, RateLimit)] = [
            ("otp-ip:", codes.perAddress), ("otp-network:", codes.perNetwork),
            ("verify-ip:", policy.verifyPerAddress), ("discovery-ip:", policy.discoveryUploadsPerAddress),
            ("discovery:", .perDay(100, burst: 2000)), ("connection-requests:", .perDay(100, burst: 100)),
        ]
        for (prefix, limit) in limits {
            let seconds = try #require(window(prefix))
            #expect(seconds >= limit.secondsUntilFull, "\(prefix) is swept before its bucket is full")
            // A bucket emptied at the start of the window is full at its end.
            let refilled = limit.take(cost: limit.burst, tokens: 0, updatedAt: 0, now: Double(seconds))
            #expect(refilled == .success(0), "\(prefix)")
        }
    }

    @Test("ACC-01 SEC-07 the served notice lists the inventory's categories, client IP addresses included")
    func noticeDerivesFromInventory() throws {
        let catalogue = PurposeCatalogue.standard.describing(Self.inventory)
        for purpose in catalogue.current.purposes {
            #expect(purpose.dataCategories == Self.inventory.categories(for: purpose.id).map(\.rawValue))
        }
        let abuse = try #require(catalogue.purpose(.abusePrevention))
        #expect(abuse.dataCategories.contains(DataCategory.clientAddressKeyedHash.rawValue))
        #expect(abuse.basis == .legalObligation)
        #expect(abuse.description.en.contains("IP address") && abuse.description.en.contains("keyed hashes"))
        let text = catalogue.current.text(.en)
        #expect(text.contains("client-ip-keyed-hash"))
        #expect(catalogue.current.text(.zhCN).contains("IP 地址"))
        #expect(catalogue.purpose(.contactDiscovery)?.dataCategories.contains("contact-edges") == true)
    }
}

@Suite("Export and erasure follow the inventory (DSR-01, DSR-04)")
struct InventoryDrivenRightsTests {
    @Test(
        "DSR-01 DSR-04 a column a migration adds and the inventory declares is exported and erased with no other change",
        arguments: Backend.enabled
    )
    func newColumnIsExportedAndErased(backend: Backend) async throws {
        try await withTestDatabaseURL(backend) { url in
            try await withDatabase(url: url, logger: quietLogger()) { database in
                let unreleased = Migration(
                    id: "9999-test-nickname",
                    statements: [
                        "CREATE TABLE nicknames (user_id TEXT NOT NULL, nickname TEXT NOT NULL, set_at BIGINT NOT NULL)"
                    ]
                )
                try await database.migrate(Migrations.all + [unreleased], logger: quietLogger())
                var inventory = DataInventory.kith
                inventory.tables.append(
                    InventoryTable(
                        "nicknames",
                        subjects: [SubjectColumn("user_id")],
                        retention: .whileAccountExists,
                        columns: [
                            InventoryColumn("user_id", .userIdentifier, [.socialNetwork]),
                            InventoryColumn("nickname", .profile, [.socialNetwork]),
                            InventoryColumn("set_at", .activityTime, [.socialNetwork]),
                        ]
                    )
                )
                let declared = inventory
                #expect(try await declared.discrepancies(in: database).isEmpty)
                let store = KithStore(database: database, keys: testKeys)
                let session = try await AccountsAndConsentTests.signUp(store)
                try await database.transaction { sql in
                    try await sql.raw(
                        "INSERT INTO nicknames (user_id, nickname, set_at) VALUES (\(bind: session.user.rawValue), 'Nick', 7)"
                    ).run()
                }
                let document = try await DataExport(store: store, inventory: declared).export(
                    session.user,
                    initiation: AccountsAndConsentTests.initiation
                )
                #expect(
                    document.tables["nicknames"]
                        == [["user_id": .text(session.user.rawValue), "nickname": .text("Nick"), "set_at": .number(7)]]
                )
                let phoneIndex = try await database.transaction { sql in
                    try await AccountErasure.erase(
                        session.user,
                        deletion: nil,
                        initiation: AccountsAndConsentTests.initiation,
                        inventory: declared,
                        store: store,
                        on: sql
                    )
                }
                #expect(phoneIndex != nil)
                let left = try await database.read { sql in
                    try await sql.raw("SELECT COUNT(*) AS n FROM nicknames").first()?.decode(column: "n", as: Int.self)
                }
                #expect(left == 0)
            }
        }
    }
}
