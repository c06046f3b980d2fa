import KithCore
import KithTestSupport
import SQLKit
import Testing

@testable import KithStore

@Suite("Transactions that commit together (issue 13)")
struct GroupCommitTests {
    struct Refused: Error {}

    /// The first transaction holds the writer for a while, so the others queue behind it and are written
    /// as batches of several; every third one writes and then fails.
    @Test(
        "a transaction that fails among concurrent ones is rolled back alone; the others commit, in order",
        arguments: Backend.enabled
    )
    func failingMemberRollsBackAlone(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let database = store.database
            try await database.transaction { sql in
                try await sql.raw("CREATE TABLE probe_rows (n INTEGER PRIMARY KEY)").run()
                try await sql.raw("CREATE TABLE probe_counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)").run()
                try await sql.raw("INSERT INTO probe_counter (id, value) VALUES (1, 0)").run()
            }
            let answered = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                group.addTask {
                    try await database.transaction { sql in
                        try await sql.raw("INSERT INTO probe_rows (n) VALUES (0)").run()
                        try await Task.sleep(for: .milliseconds(200))
                        try await sql.raw("UPDATE probe_counter SET value = value + 1 WHERE id = 1").run()
                    }
                    return (0, true)
                }
                try await Task.sleep(for: .milliseconds(20))
                for n in 1...60 {
                    group.addTask {
                        do {
                            try await database.transaction { sql in
                                try await sql.raw("INSERT INTO probe_rows (n) VALUES (\(bind: n))").run()
                                try await sql.raw("UPDATE probe_counter SET value = value + 1 WHERE id = 1").run()
                                if n % 3 == 0 { throw Refused() }
                            }
                            return (n, true)
                        } catch is Refused {
                            return (n, false)
                        }
                    }
                }
                var answered: [Int: Bool] = [:]
                for try await (n, committed) in group { answered[n] = committed }
                return answered
            }
            let (rows, counter) = try await database.read { sql in
                (
                    try await sql.raw("SELECT n FROM probe_rows ORDER BY n").all().map {
                        try $0.decode(column: "n", as: Int.self)
                    },
                    try await sql.raw("SELECT value FROM probe_counter WHERE id = 1").first()?.decode(
                        column: "value",
                        as: Int.self
                    )
                )
            }
            let committed = (0...60).filter { $0 % 3 != 0 || $0 == 0 }
            #expect(answered.filter(\.value).keys.sorted() == committed)
            #expect(answered.count == 61)
            #expect(rows == committed)
            // Each member saw the writes of those before it: no increment was lost or kept from a failure.
            #expect(counter == committed.count)
        }
    }

    /// The head is signed once per batch, before its commit: the transactions that queued behind a slow
    /// one append and commit together, every third appends and then fails, and what is committed must be
    /// exactly the entries of the others under one head whose signature holds.
    @Test(
        "SEC-08 a batch of log appends commits one signed head, with members rolled back after they appended",
        arguments: Backend.enabled
    )
    func batchSignsOneHead(backend: Backend) async throws {
        try await withTestStore(backend) { store in
            let draft = ProcessingLogTests.draft
            let before = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey).entries
            let committed = try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await store.database.transaction { sql in
                        try await Task.sleep(for: .milliseconds(200))
                        try await store.log.append([draft], at: store.clock.nowMillis, on: sql)
                    }
                    return 1
                }
                try await Task.sleep(for: .milliseconds(20))
                for n in 1...45 {
                    group.addTask {
                        do {
                            try await store.database.transaction { sql in
                                try await store.log.append([draft, draft], at: store.clock.nowMillis, on: sql)
                                if n % 3 == 0 { throw Refused() }
                            }
                            return 2
                        } catch is Refused {
                            return 0
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(committed == 1 + 30 * 2)
            let report = try await ProcessingLog.verify(on: store.database, publicKey: store.log.publicKey)
            #expect(report.isIntact, "\(report)")
            #expect(report.entries == before + committed)
        }
    }
}
