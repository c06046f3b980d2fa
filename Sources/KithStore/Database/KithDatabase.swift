import Foundation
import KithCore
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit
import ServiceLifecycle
import Synchronization

/// Which engine a ``KithDatabase`` runs on. The SQL is the same; only connection handling differs.
public enum StoreBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres
    public var description: String { rawValue }
}

/// The store: SQLite (embedded default) or PostgreSQL, behind one SQLKit code path.
///
/// SQLite runs in WAL mode with `synchronous=FULL` and one serialised writer connection; reads use a
/// second connection so they never wait behind a write. PostgreSQL uses a `PostgresClient` pool, which
/// must be running: run the database as a `Service` (``run()``), or use ``withDatabase(url:logger:_:)``.
public final class KithDatabase: Service, Sendable {
    public let backend: StoreBackend
    private let engine: Engine

    private enum Engine: Sendable {
        /// `checkpointer` copies the WAL back into the database beside the writer (file databases only).
        case sqlite(writer: SQLiteHandle, reader: SQLiteHandle, checkpointer: SQLiteHandle?)
        case postgres(PostgresClient)
    }

    /// Opens the database named by a `KITH_DATABASE_URL` value.
    ///
    /// - Parameters:
    ///   - url: `sqlite://PATH` (relative or absolute; `sqlite::memory:` for tests), or
    ///     `postgres://user:password@host:port/database`.
    ///   - logger: The logger for the drivers. Queries are never logged (their binds may be personal data).
    public static func open(url: String, logger: Logger) async throws -> KithDatabase {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let client = PostgresClient(
                configuration: try Self.clientConfiguration(url: url),
                backgroundLogger: Self.driverLogger(logger)
            )
            return KithDatabase(backend: .postgres, engine: .postgres(client))
        }
        guard url.hasPrefix("sqlite:") else {
            throw KithError.invalid("KITH_DATABASE_URL", "Use sqlite://PATH or postgres://USER@HOST/DATABASE.")
        }
        var path = String(url.dropFirst("sqlite:".count))
        if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
        let writer = try await SQLiteHandle.open(path: path, logger: Self.driverLogger(logger))
        let reader =
            path == ":memory:" ? writer : try await SQLiteHandle.open(path: path, logger: Self.driverLogger(logger))
        let checkpointer =
            path == ":memory:" ? nil : try await SQLiteHandle.open(path: path, logger: Self.driverLogger(logger))
        return KithDatabase(
            backend: .sqlite,
            engine: .sqlite(writer: writer, reader: reader, checkpointer: checkpointer)
        )
    }

    private init(backend: StoreBackend, engine: Engine) {
        self.backend = backend
        self.engine = engine
    }

    /// Runs the connection pool (PostgreSQL), or checkpoints SQLite's WAL, until graceful shutdown or
    /// cancellation.
    ///
    /// While this runs, SQLite commits stop checkpointing the WAL themselves: by default the commit that
    /// crosses 1,000 WAL pages writes them back and syncs the database inside its request, a latency spike
    /// every few dozen writes. A separate connection checkpoints passively (never blocking readers or the
    /// writer) four times a second instead; when this stops, commits checkpoint again.
    public func run() async throws {
        switch engine {
        case .postgres(let client):
            await cancelWhenGracefulShutdown {
                await client.run()
            }
        case .sqlite(let writer, _, let checkpointer):
            if let checkpointer {
                try? await writer.exclusive { try await $0.raw("PRAGMA wal_autocheckpoint=0").run() }
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(250))
                            _ = try? await checkpointer.exclusive {
                                try await $0.raw("PRAGMA wal_checkpoint(PASSIVE)").all()
                            }
                        }
                    }
                    try? await gracefulShutdown()
                    group.cancelAll()
                }
                try? await writer.exclusive { try await $0.raw("PRAGMA wal_autocheckpoint=1000").run() }
            } else {
                try? await gracefulShutdown()
            }
            await close()
        }
    }

    /// Closes SQLite connections (PostgreSQL closes when ``run()`` ends). Safe to call more than once.
    public func close() async {
        if case .sqlite(let writer, let reader, let checkpointer) = engine {
            await checkpointer?.close()
            await writer.close()
            if reader !== writer { await reader.close() }
        }
    }

    /// Runs `body` with a database to read from; sees every committed write.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch engine {
            case .sqlite(_, let reader, _):
                return try await reader.exclusive { try await body($0) }
            case .postgres(let client):
                return try await client.withConnection { try await body($0.sql(queryLogLevel: nil)) }
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// Runs `body` in one transaction: everything it writes commits together or not at all.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE` on the single writer connection, so writes are
    /// serialised. On PostgreSQL it is a `READ COMMITTED` transaction on a pooled connection; code that
    /// needs a serial order takes a row lock (see ``ProcessingLog``).
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch engine {
            case .sqlite(let writer, _, _):
                return try await writer.exclusive { sql in
                    try await sql.raw("BEGIN IMMEDIATE").run()
                    do {
                        let result = try await body(sql)
                        try await sql.raw("COMMIT").run()
                        return result
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                }
            case .postgres(let client):
                return try await client.withConnection { connection in
                    let sql = connection.sql(queryLogLevel: nil)
                    try await sql.raw("BEGIN").run()
                    do {
                        let result = try await body(sql)
                        try await sql.raw("COMMIT").run()
                        return result
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                }
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// Maps driver errors to ``KithError`` without carrying their text (which may quote SQL binds).
    static func translate(_ error: any Error) -> any Error {
        if error is KithError || error is CancellationError { return error }
        if let sqlite = error as? SQLiteError {
            switch sqlite.reason {
            case .full, .ioError, .cantOpen, .readOnly, .busy, .locked:
                return KithError(
                    .storeUnavailable,
                    detail: "The store cannot accept this write right now; retry later."
                )
            default:
                return KithError(.internalError, detail: "The store refused the operation; nothing was changed.")
            }
        }
        if let psql = error as? PSQLError {
            if psql.code == .connectionError || psql.code == .serverClosedConnection || psql.code == .poolClosed {
                return KithError(.storeUnavailable, detail: "The store is unreachable; retry later.")
            }
            if let state = psql.serverInfo?[.sqlState], state.hasPrefix("53") || state.hasPrefix("08") {
                return KithError(
                    .storeUnavailable,
                    detail: "The store cannot accept this write right now; retry later."
                )
            }
            return KithError(.internalError, detail: "The store refused the operation; nothing was changed.")
        }
        return error
    }

    private static func driverLogger(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        return quiet
    }

    private static func clientConfiguration(url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let host = components.host else {
            throw KithError.invalid("KITH_DATABASE_URL", "The PostgreSQL URL needs a host.")
        }
        let database = components.path.split(separator: "/").first.map(String.init)
        var configuration = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: components.user ?? "postgres",
            password: components.password,
            database: database,
            tls: .disable
        )
        configuration.options.maximumConnections = 16
        return configuration
    }
}

extension KithDatabase {
    /// Answers when the store is reachable (`GET /health`); throws when it is not.
    public func ping() async throws {
        _ = try await read { sql in try await sql.raw("SELECT 1 AS one").first() }
    }

    /// Waits (up to about two seconds) until the PostgreSQL pool started by ``run()`` leases connections:
    /// a query made before its `run()` task is scheduled fails instead of waiting.
    func waitUntilReady() async throws {
        guard backend == .postgres else { return }
        for attempt in 1... {
            do {
                _ = try await read { sql in try await sql.raw("SELECT 1 AS one").all() }
                return
            } catch  where attempt < 100 {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

/// Runs `body` with an open database whose pool is running, then shuts it down.
public func withDatabase<T: Sendable>(
    url: String,
    logger: Logger,
    _ body: @Sendable (KithDatabase) async throws -> T
) async throws -> T {
    let database = try await KithDatabase.open(url: url, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await database.run() }
        do {
            try await database.waitUntilReady()
            let result = try await body(database)
            group.cancelAll()
            await database.close()
            return result
        } catch {
            group.cancelAll()
            await database.close()
            throw error
        }
    }
}

/// One SQLite connection used by one task at a time.
final class SQLiteHandle: Sendable {
    private let connection: SQLiteConnection
    private let lock = AsyncLock()
    private let closed = Mutex(false)

    static func open(path: String, logger: Logger) async throws -> SQLiteHandle {
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        let connection = try await SQLiteConnection.open(storage: storage, logger: logger).get()
        let sql = connection.sql(queryLogLevel: nil)
        // Contact discovery confirms its candidates by random lookups in the phone_index B-tree of every
        // account: read the file through a memory map (up to SQLite's 2 GiB cap) and keep 128 MiB of pages
        // per connection, rather than a pread per page through the default 2 MiB cache.
        for pragma in [
            "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON",
            "PRAGMA mmap_size=2147418112", "PRAGMA cache_size=-131072",
        ] {
            try await sql.raw(SQLQueryString(pragma)).run()
        }
        return SQLiteHandle(connection: connection)
    }

    private init(connection: SQLiteConnection) { self.connection = connection }

    func exclusive<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        await lock.acquire()
        if closed.withLock({ $0 }) {
            await lock.release()
            throw KithError(.storeUnavailable, detail: "The store is shutting down.")
        }
        do {
            let result = try await body(connection.sql(queryLogLevel: nil))
            await lock.release()
            return result
        } catch {
            await lock.release()
            throw error
        }
    }

    func close() async {
        await lock.acquire()
        if !closed.withLock({ $0 }) {
            try? await connection.close().get()
            closed.withLock { $0 = true }
        }
        await lock.release()
    }
}

/// A first-in, first-out asynchronous mutex.
actor AsyncLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
