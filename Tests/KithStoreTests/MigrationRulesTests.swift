import KithCore
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

/// The house rules of the schema (issue 10 §9): released migrations are never edited, and a server
/// refuses a store whose schema is newer than its code.
@Suite("Migration house rules")
struct MigrationRulesTests {
    /// The SHA-256 of each released migration's statements (joined by NUL). Every commit on main is a
    /// release, so a new migration is pinned here in the change that adds it; an edited one fails this
    /// test: write a new migration instead.
    static let released: [(id: String, sha256: String)] = [
        ("0001-accounts", "8d7f0ec8fc89269ec23e48cbce15f9a249250d0b8f3fc9548246d920ac11712b"),
        ("0002-consent-ledger", "db46fbba91555b4aa7549ce52892081c0873ad0484af86ede309f3fd228ca52d"),
        ("0003-processing-log", "67e1cd0605580980a0279ec9a8aa03718d50adbd1bb54311d7546145058f6172"),
        ("0004-rate-limits", "916d5f312a49f7a418ef600a6a592b7fa5ef725fa2a6028cc118a3e04c2326d9"),
        ("0005-contact-discovery", "ea07e6f3ffeaea672268daf98a080e165b670193e10c6b9f6aa420d786cefecd"),
        ("0006-social-network", "675ca43e03351a11fad13a8195b796e8e769a1c0756c5f6dfb9d25fd0b373411"),
        ("0007-discoverable-index", "8e7defb7ec56a0df15358892f5c3b3634440a6022b53b81008e23a735835ad1c"),
        ("0008-outbound-messages", "f42c1fa8bc463ccfcc6dfedccffb9711f1013940574ae5a44a75cae376d253f8"),
        ("0009-operators", "23ba75c8e091dd1536b634c84ad3e5cfdb2063140d25c2c7c1cc6fff6bc4b78e"),
        ("0010-session-revocations", "411acbe06726673c61dc2eff2596731e449c197e252bc6ffc840babbd8538631"),
        ("0011-limits-and-number-changes", "5b297ee888d4b6805ed5877ef0ac2216ef0559dc0eef658d22a34b3218290591"),
        ("0012-account-erasure", "d111869ee67ff2650161f1afe94a94d871a210eb48599077d9968c673d4b2e66"),
        ("0013-data-requests", "7ed95f97da1c5035de2ed30347560b2de013e31fcc1d038efa7a6443a35fbac1"),
        ("0014-invitations", "b2cc977cd54dddc3d3bfe129f716eeb764983f29f7d6abec871a846ac9dac7da"),
        ("0015-partners", "b55bd5ea699f50a0453d28e3457196eeaad557a0f0d4364accbbcd2416043af6"),
        ("0016-lookup-indexes", "3511aa45c4c0242cc98a224e66d7c08836f63cb01d9fd351d72daa999ea7e324"),
    ]

    static func digest(_ migration: Migration) -> String {
        migration.statements.joined(separator: "\u{0}").sha256Hex
    }

    @Test("released migrations are never edited, and every migration is pinned")
    func releasedMigrationsUnchanged() {
        let code = Migrations.all
        #expect(code.count == Self.released.count, "pin the new migration's SHA-256 here")
        for (index, pinned) in Self.released.enumerated() where index < code.count {
            #expect(code[index].id == pinned.id, "migration \(index + 1) was renamed or reordered")
            #expect(
                Self.digest(code[index]) == pinned.sha256,
                "migration \(pinned.id) was edited (now \(Self.digest(code[index]))): add a new migration instead"
            )
        }
        #expect(Set(code.map(\.id)).count == code.count, "two migrations share an ID")
    }

    @Test("a store migrated by a newer Kith is refused, not served", arguments: Backend.enabled)
    func newerSchemaRefused(backend: Backend) async throws {
        try await withTestDatabaseURL(backend) { url in
            try await withDatabase(url: url, logger: quietLogger()) { database in
                try await database.migrate(logger: quietLogger())
                // Migrating again is a no-op while the store knows only this code's migrations.
                #expect(try await database.migrate(logger: quietLogger()).isEmpty)
                try await database.transaction { sql in
                    try await sql.raw(
                        "INSERT INTO kith_migrations (id, applied_at) VALUES ('0099-from-the-future', 0)"
                    ).run()
                }
                let error = await #expect(throws: KithError.self) {
                    try await database.migrate(logger: quietLogger())
                }
                #expect(error?.field == "kith_migrations")
                #expect(error?.detail.contains("0099-from-the-future") == true)
                // The code that knows the migration accepts the store.
                let newer = Migrations.all + [Migration(id: "0099-from-the-future", statements: [])]
                #expect(try await database.migrate(newer, logger: quietLogger()).isEmpty)
            }
        }
    }
}
