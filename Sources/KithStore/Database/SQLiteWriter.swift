import KithCore
import Logging
import NIOCore
import NIOPosix
import SQLKit
import Synchronization

/// SQLite's one write connection: its statements run on a thread of its own, and concurrent transactions
/// commit together (issue 13).
///
/// Measured before (`kith bench messages`, `perf`): the writer was a sqlite-nio connection, whose every
/// statement woke a thread-pool thread and then the caller's thread again — an invitation's fifteen-odd
/// statements spent more time in futex wake-ups and context switches than in SQLite — and every
/// transaction paid its own fsync. Now a transaction moves to the writer's thread once and runs its
/// statements there inline (``InlineSQLiteConnection``), and transactions that arrive while one is being
/// written are written next as one: each in a savepoint of one `BEGIN IMMEDIATE … COMMIT`, so one that
/// fails is rolled back alone, and none is answered before the commit is durable.
final class SQLiteWriter: Sendable {
    typealias Member = @Sendable (any SQLDatabase) async throws -> any Sendable

    private let connection: InlineSQLiteConnection
    private let lock = AsyncLock()
    private let closed = Mutex(false)
    /// The writer's thread.
    private let thread = WriterThread()
    private let commits = GroupCommit<Member, any Sendable>()

    init(path: String) throws {
        connection = try InlineSQLiteConnection(path: path, writes: true)
    }

    /// Runs `body` alone on the connection, on the writer's thread.
    ///
    /// Returns off the writer's thread: leaving an executor preference does not move a task by itself, so
    /// without the yield the caller would go on to run its own work — the next request's preview, say —
    /// on the one thread every write waits for (measured, `kith bench messages`: ~30% of the writer's
    /// time was callers' work after their commit).
    func exclusive<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            let output = try await withTaskExecutorPreference(thread) {
                await lock.acquire()
                defer { lock.release() }
                if closed.withLock({ $0 }) {
                    throw KithError(.storeUnavailable, detail: "The store is shutting down.")
                }
                return try await body(InlineSQLiteDatabase(connection: connection, logger: Self.logger))
            }
            await Task.yield()
            return output
        } catch {
            await Task.yield()
            throw error
        }
    }

    /// Runs `body` in a transaction, committed with the transactions that queued beside it: everything it
    /// writes commits together or not at all, and it returns once committed.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let member: Member = { sql in try await body(sql) }
        let output = try await commits.submit(member) { members in await self.commit(members) }
        guard let output = output as? T else {
            throw KithError(.internalError, detail: "The store refused the operation; nothing was changed.")
        }
        return output
    }

    /// Writes `members` in one transaction, each in a savepoint of its own when there are several.
    ///
    /// What the members leave for the end of the batch (``CommitBatch``: the log's tree head, signed
    /// once) runs after the last of them, before `COMMIT`.
    private func commit(_ members: [Member]) async -> [Result<any Sendable, any Error>] {
        let batch = CommitBatch()
        defer { batch.close() }
        do {
            return try await exclusive { sql in
                try await CommitBatch.$current.withValue(batch) {
                    try await sql.raw("BEGIN IMMEDIATE").run()
                    do {
                        var results: [Result<any Sendable, any Error>] = []
                        if members.count == 1 {
                            results.append(.success(try await members[0](sql)))
                        } else {
                            for member in members { results.append(try await Self.run(member, savepointOn: sql)) }
                        }
                        try await batch.finish(on: sql)
                        try await sql.raw("COMMIT").run()
                        return results
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                }
            }
        } catch {
            return members.map { _ in .failure(error) }
        }
    }

    /// Runs one member of a batch in a savepoint: rolled back alone when it fails.
    ///
    /// - Throws: when the savepoint cannot be taken or rolled back — SQLite rolled the whole transaction
    ///   back itself (a full disk, an I/O error) — so that the batch stops and fails for every member,
    ///   rather than running the members after it outside a transaction.
    private static func run(
        _ member: Member,
        savepointOn sql: any SQLDatabase
    ) async throws -> Result<any Sendable, any Error> {
        try await sql.raw("SAVEPOINT member").run()
        do {
            let output = try await member(sql)
            try await sql.raw("RELEASE SAVEPOINT member").run()
            return .success(output)
        } catch {
            try await sql.raw("ROLLBACK TO SAVEPOINT member").run()
            try await sql.raw("RELEASE SAVEPOINT member").run()
            return .failure(error)
        }
    }

    /// Closes the connection once no one uses it, and stops the writer's thread. Safe to call more than once.
    func close() async {
        await lock.acquire()
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if !wasClosed { connection.close() }
        lock.release()
        if !wasClosed { await thread.stop() }
    }

    private static let logger = Logger(label: "kith.store", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// A thread of its own, as a task executor: an event loop that runs nothing but the writer's jobs. Once
/// stopped, what still comes (a caller that queued for the lock before the store closed, and is told so)
/// runs on the global executor instead of being dropped.
private final class WriterThread: TaskExecutor {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let stopped = Mutex(false)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        stopped.withLock { stopped in
            if stopped {
                globalConcurrentExecutor.enqueue(job)
            } else {
                group.next().execute { job.runSynchronously(on: executor) }
            }
        }
    }

    func stop() async {
        stopped.withLock { $0 = true }
        try? await group.shutdownGracefully()
    }
}
