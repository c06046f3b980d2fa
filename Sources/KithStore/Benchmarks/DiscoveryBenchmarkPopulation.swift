import Foundation
import KithCore
import SQLKit

/// The synthetic population `kith bench discovery` matches against: `users` registered people numbered
/// `+86 139…`, every tenth discoverable, plus one uploader with a session. Synthetic data for benchmarks
/// only — never run against a store holding people's data. (SQLite only: it seeds through `json_each`.)
public enum DiscoveryBenchmarkPopulation {
    /// `+86`, a three-digit mobile prefix and `i` in eight digits.
    public static func number(_ i: Int, prefix: String = "139") -> String {
        let digits = String(i)
        return "+86" + prefix + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Users `range` as a JSON array of `[i, phone_index, phone_cipher]`, for one `json_each` insert.
    static func seedRows(_ range: Range<Int>, vault: PhoneVault) throws -> String {
        let indexer = vault.blindIndexer()
        var json = "["
        json.reserveCapacity(range.count * 120)
        for i in range {
            let phone = try PhoneNumber.parse(number(i)).get()
            if i != range.lowerBound { json += "," }
            json += "[\(i),\"\(indexer.index(phone).hexString)\",\"\(try vault.encrypt(phone))\"]"
        }
        return json + "]"
    }

    /// Seeds `users` registered users, every tenth discoverable: the rows are computed on every core
    /// while the previous batch is inserted, and each batch is one transaction of two `json_each` inserts.
    public static func seed(users: Int, database: KithDatabase, vault: PhoneVault) async throws {
        let batch = 100_000
        let notice = PurposeCatalogue.standard.current.version
        // Random phone_index inserts into a B-tree of millions: keep its pages in memory while seeding,
        // then give the writer back the cache size the store configured.
        let cacheSize = try await database.transaction { sql in
            let configured = try await sql.raw("PRAGMA cache_size").first()?.decode(column: "cache_size", as: Int.self)
            try await sql.raw("PRAGMA cache_size = -2000000").run()
            return configured ?? -2000
        }
        @Sendable func rows(_ start: Int) async throws -> [String] {
            let end = min(start + batch, users)
            let parts = max(1, ProcessInfo.processInfo.activeProcessorCount)
            let step = (end - start + parts - 1) / parts
            return try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for part in 0..<parts where start + part * step < end {
                    let range = (start + part * step)..<min(start + (part + 1) * step, end)
                    group.addTask { (part, try seedRows(range, vault: vault)) }
                }
                var out: [(Int, String)] = []
                for try await part in group { out.append(part) }
                return out.sorted { $0.0 < $1.0 }.map(\.1)
            }
        }
        var next: [String]? = users > 0 ? try await rows(0) : nil
        var start = 0
        while let current = next {
            start += batch
            let following = start
            async let upcoming = following < users ? rows(following) : nil
            try await database.transaction { sql in
                for json in current {
                    try await sql.raw(
                        """
                        INSERT INTO users (id, phone_index, phone_cipher, created_at, registration_evidence)
                        SELECT 'u' || json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                            1700000000000 + json_extract(value, '$[0]'), 'bench'
                        FROM json_each(\(bind: json))
                        """
                    ).run()
                    try await sql.raw(
                        """
                        INSERT INTO consents (id, user_id, purpose, notice_version, locale, text_sha256, initial_state,
                            channel, granted_at, evidence)
                        SELECT 'cu' || json_extract(value, '$[0]'), 'u' || json_extract(value, '$[0]'),
                            \(bind: PurposeID.discoverableByPhone.rawValue), \(bind: notice), 'en', 'bench', 'unchecked',
                            'api', 1700000000000 + json_extract(value, '$[0]'), 'bench'
                        FROM json_each(\(bind: json)) WHERE json_extract(value, '$[0]') % 10 = 0
                        """
                    ).run()
                }
            }
            next = try await upcoming
        }
        try await database.transaction { sql in
            try await sql.raw("PRAGMA cache_size = \(unsafeRaw: String(cacheSize))").run()
        }
        // Seeding leaves gigabytes of WAL: write them back now, not in the background while timing.
        try await database.read { sql in _ = try await sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").all() }
    }

    /// How many people a previous run seeded (the uploader included).
    public static func seededUsers(in database: KithDatabase) async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM users WHERE registration_evidence = 'bench'").first()?
                .decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Makes the uploader (on a fresh store), gives it a session for `token`, and resets what earlier runs
    /// left: every rate bucket and the uploader's contact edges.
    public static func prepareUploader(
        _ uploader: UserID,
        phone: PhoneNumber,
        token: String,
        fresh: Bool,
        store: KithStore
    ) async throws {
        let vault = store.vault
        try await store.database.transaction { sql in
            if fresh {
                try await sql.raw(
                    "INSERT INTO users (id, phone_index, phone_cipher, created_at, registration_evidence) VALUES (\(bind: uploader.rawValue), \(bind: vault.blindIndex(phone)), \(bind: try vault.encrypt(phone)), 1700000000000, 'bench')"
                ).run()
                try await SubjectKeys(store: store).create(for: uploader, on: sql)
            }
            // A reused store starts with the uploader's quota full and no edges from earlier runs.
            try await sql.raw("DELETE FROM rate_buckets").run()
            try await sql.raw("DELETE FROM contact_edges WHERE owner_id = \(bind: uploader.rawValue)").run()
            try await sql.raw(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (\(bind: token.sha256Hex), \(bind: uploader.rawValue), 0, \(bind: Int64.max / 2))"
            ).run()
        }
    }
}

extension KithDatabase {
    /// Empties a PostgreSQL database's `public` schema before a benchmark seeds it (SQLite benchmarks use
    /// a new file). Destroys everything in it: benchmarks pass a database made for them.
    public func emptyForBenchmark() async throws {
        guard backend == .postgres else { return }
        try await transaction { sql in
            try await sql.raw("DROP SCHEMA public CASCADE").run()
            try await sql.raw("CREATE SCHEMA public").run()
        }
    }
}

extension ProcessingLog {
    /// Appends synthetic entries in one transaction, for `kith bench ledger`.
    public func appendForBenchmark(_ drafts: [EntryDraft], on database: KithDatabase) async throws {
        let log = self
        _ = try await database.transaction { sql in
            try await log.append(drafts, at: Int64(Date().timeIntervalSince1970 * 1000), on: sql)
        }
    }
}
