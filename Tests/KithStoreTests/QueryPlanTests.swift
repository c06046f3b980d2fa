import KithCore
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

/// SQLite keeps no statistics for Kith's store, so a statement with no index for its filter reads the whole
/// table, and the erasures and sweeps below do it inside the one writer's transaction. On a 10M-user store
/// an erasure's look-ups by the other side of a pair took ~50 ms per table per 2M rows, and the sweeper's
/// scans up to a second every 10 minutes. These tests hold every such statement to an index.
@Suite("Query plans")
struct QueryPlanTests {
    /// Tables read whole by design, with the reason.
    static let scannedByDesign: [String: String] = [
        // Every request that takes a limit rewrites its bucket's `updated_at`; an index on it would be
        // rewritten as often. A bucket is one row per active key, and the sweep deletes only full ones.
        "rate_buckets": "rewritten on every request",
        // Kept ten seconds to an hour (GraphReplica's window), read by time with its own index.
        "graph_changes": "kept an hour",
    ]

    static func plan(_ statement: SQLQueryString, on store: KithStore) async throws -> [String] {
        try await store.database.read { sql in
            try await sql.raw("EXPLAIN QUERY PLAN \(statement)").all().map {
                try $0.decode(column: "detail", as: String.self)
            }
        }
    }

    @Test("DSR-04 erasing a person finds each of their rows by an index, in every table of the inventory")
    func erasureUsesIndexes() async throws {
        try await withTestStore(.sqlite) { store in
            var checked = 0
            for table in DataInventory.kith.tables where Self.scannedByDesign[table.name] == nil {
                let keys = try AccountErasure.keys(
                    of: table,
                    user: UserID(rawValue: "u-plan"),
                    phoneIndex: String(repeating: "ab", count: 32),
                    vault: store.vault
                )
                for (column, value) in keys {
                    let plan = try await Self.plan(
                        "DELETE FROM \(ident: table.name) WHERE \(ident: column) = \(bind: value)",
                        on: store
                    )
                    #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(table.name).\(column): \(plan)")
                    checked += 1
                }
            }
            #expect(checked > 20, "the inventory's erasure keys were walked")
        }
    }

    @Test("SEC-05 every retention rule deletes what expired through an index")
    func sweepUsesIndexes() async throws {
        try await withTestStore(.sqlite) { store in
            var checked = 0
            for rule in DataInventory.kith.sweepRules where Self.scannedByDesign[rule.table] == nil {
                guard let statement = RetentionSweeper.deletion(rule, now: 1_800_000_000_000) else { continue }
                let plan = try await Self.plan(statement, on: store)
                #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(rule): \(plan)")
                checked += 1
            }
            #expect(checked > 10, "the inventory's sweep rules were walked")
        }
    }
}
