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
        /// `readers` run a request's reads on its own thread; `scanner` reads what may take long, on NIO's
        /// thread pool. A `:memory:` database has neither: everything runs on the writer's connection.
        case sqlite(
            writer: SQLiteWriter,
            readers: SQLiteReaders?,
            scanner: SQLiteHandle?,
            checkpointer: SQLiteHandle?
        )
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
        let writer = try SQLiteWriter(path: path)
        // Readers: a few connections on the requests' own threads, so concurrent requests read side by side
        // in WAL mode without a thread switch per statement; `:memory:` has one connection for everything.
        guard path != ":memory:" else {
            return KithDatabase(
                backend: .sqlite,
                engine: .sqlite(writer: writer, readers: nil, scanner: nil, checkpointer: nil)
            )
        }
        var readers: [InlineSQLiteConnection] = []
        for _ in 0..<SQLiteReaders.count { readers.append(try InlineSQLiteConnection(path: path)) }
        return KithDatabase(
            backend: .sqlite,
            engine: .sqlite(
                writer: writer,
                readers: SQLiteReaders(readers),
                scanner: try await SQLiteHandle.open(path: path, logger: Self.driverLogger(logger)),
                checkpointer: try await SQLiteHandle.open(path: path, logger: Self.driverLogger(logger))
            ),
            path: path
        )
    }

    private init(backend: StoreBackend, engine: Engine, path: String? = nil) {
        self.backend = backend
        self.engine = engine
        self.path = path
    }

    /// A condition true where the text of `expression` contains `needle` verbatim (no `LIKE` wildcards):
    /// `instr` on SQLite, `strpos` on PostgreSQL.
    public func textContains(_ expression: SQLQueryString, _ needle: String) -> SQLQueryString {
        backend == .postgres
            ? "strpos(CAST(\(expression) AS TEXT), \(bind: needle)) > 0"
            : "instr(CAST(\(expression) AS TEXT), \(bind: needle)) > 0"
    }

    /// The SQLite file; `nil` for PostgreSQL and `:memory:`.
    public let path: String?

    /// SQLite: writes the WAL back into the database file and empties it, so that the file's bytes are
    /// everything the store holds (the erasure scan reads them, DSR-04). Nothing on PostgreSQL.
    public func checkpointForScan() async throws {
        guard case .sqlite(let writer, _, _, _) = engine, path != nil else { return }
        _ = try await writer.exclusive { try await $0.raw("PRAGMA wal_checkpoint(TRUNCATE)").all() }
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
        case .sqlite(let writer, _, _, let checkpointer):
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
        if case .sqlite(let writer, let readers, let scanner, let checkpointer) = engine {
            await checkpointer?.close()
            await readers?.close()
            await scanner?.close()
            await writer.close()
        }
    }

    /// Runs `body` with a database to read from; sees every committed write. For the reads of a request:
    /// on SQLite its statements run on the calling thread (``InlineSQLiteConnection``); a read that may take
    /// long (a whole table) uses ``scan(_:)``.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch engine {
            case .sqlite(_, let readers?, _, _):
                return try await readers.withReader { try await body($0) }
            case .sqlite(_, nil, let scanner?, _):
                return try await scanner.exclusive { try await body($0) }
            case .sqlite(let writer, nil, nil, _):
                return try await writer.exclusive { try await body($0) }
            case .postgres(let client):
                return try await client.withConnection { try await body($0.sql(queryLogLevel: nil)) }
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// ``read(_:)`` for reads that may take long — a scan of the log, loading an index at start — off the
    /// requests' threads (NIO's thread pool on SQLite), so they never hold an event loop.
    func scan<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch engine {
            case .sqlite(_, _, let scanner?, _):
                return try await scanner.exclusive { try await body($0) }
            case .sqlite(let writer, _, nil, _):
                return try await writer.exclusive { try await body($0) }
            case .postgres(let client):
                return try await client.withConnection { try await body($0.sql(queryLogLevel: nil)) }
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// Streams every processing-log entry in `seq` order to `visit`, in one snapshot, on PostgreSQL: one
    /// query whose rows arrive with back-pressure while `visit` hashes the ones already here (issue 12:
    /// verifying 1M entries). Returns `false` on SQLite, whose reader pages instead
    /// (``ProcessingLog/scan(on:_:)``).
    func streamLogEntries(_ visit: (Int, String) throws -> Void) async throws -> Bool {
        guard case .postgres(let client) = engine else { return false }
        do {
            try await client.withConnection { connection in
                let rows = try await connection.query(
                    "SELECT seq, entry FROM processing_log ORDER BY seq",
                    logger: Self.silent
                )
                // Cell by cell: decoding a row as a tuple looks up the tuple's type metadata for every row.
                for try await row in rows {
                    var cells = row.makeIterator()
                    guard let seq = cells.next(), let entry = cells.next() else { continue }
                    try visit(try seq.decode(Int.self), try entry.decode(String.self))
                }
            }
        } catch {
            throw Self.translate(error)
        }
        return true
    }

    /// For driver calls that must not log (queries' binds may be personal data).
    private static let silent = Logger(label: "kith.store", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` in one transaction: everything it writes commits together or not at all.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE` on the single writer connection, so writes are
    /// serialised, and transactions that wait for the writer commit together, each in a savepoint of one
    /// transaction (``SQLiteWriter``). On PostgreSQL it is a `READ COMMITTED` transaction on a pooled connection; code that
    /// needs a serial order takes a row lock (see ``ProcessingLog``).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch engine {
            case .sqlite(let writer, _, _, _):
                return try await writer.transaction(body)
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
            // Deleted rows are overwritten with zeros, not left in free pages of the file (DSR-04): an
            // erased person is not in the bytes of the store either.
            "PRAGMA secure_delete=ON",
        ] {
            try await sql.raw(SQLQueryString(pragma)).run()
        }
        return SQLiteHandle(connection: connection)
    }

    private init(connection: SQLiteConnection) { self.connection = connection }

    func exclusive<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        await lock.acquire()
        if closed.withLock({ $0 }) {
            lock.release()
            throw KithError(.storeUnavailable, detail: "The store is shutting down.")
        }
        do {
            let result = try await body(connection.sql(queryLogLevel: nil))
            lock.release()
            return result
        } catch {
            lock.release()
            throw error
        }
    }

    func close() async {
        await lock.acquire()
        if !closed.withLock({ $0 }) {
            try? await connection.close().get()
            closed.withLock { $0 = true }
        }
        lock.release()
    }
}

/// SQLite's read connections, lent one task at a time: a free one at once, else the first returned.
final class SQLiteReaders: Sendable {
    /// Read connections per file database.
    static let count = 4

    private let connections: [InlineSQLiteConnection]
    private let free: Mutex<(idle: [Int], waiters: [CheckedContinuation<Int, Never>], closed: Bool)>

    init(_ connections: [InlineSQLiteConnection]) {
        self.connections = connections
        self.free = Mutex((Array(connections.indices), [], false))
    }

    /// A connection's index: an idle one at once, else the first one returned.
    private func take() async -> Int {
        if let idle = free.withLock({ $0.idle.popLast() }) { return idle }
        return await withCheckedContinuation { continuation in
            let idle = free.withLock { state -> Int? in
                if let index = state.idle.popLast() { return index }
                state.waiters.append(continuation)
                return nil
            }
            if let idle { continuation.resume(returning: idle) }
        }
    }

    func withReader<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let index = await take()
        defer {
            let waiter = free.withLock { state -> CheckedContinuation<Int, Never>? in
                if state.waiters.isEmpty {
                    state.idle.append(index)
                    return nil
                }
                return state.waiters.removeFirst()
            }
            waiter?.resume(returning: index)
        }
        if free.withLock({ $0.closed }) {
            throw KithError(.storeUnavailable, detail: "The store is shutting down.")
        }
        return try await body(InlineSQLiteDatabase(connection: connections[index], logger: Self.logger))
    }

    /// Closes every connection once it is returned.
    func close() async {
        let wasClosed = free.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        if wasClosed { return }
        for _ in connections.indices { connections[await take()].close() }
    }

    private static let logger = Logger(label: "kith.store", factory: { _ in SwiftLogNoOpLogHandler() })
}

/// A first-in, first-out asynchronous mutex. Taking a free lock does not suspend (no actor hop per
/// query); a released lock passes straight to the first waiter.
final class AsyncLock: Sendable {
    private let state = Mutex((held: false, waiters: [CheckedContinuation<Void, Never>]()))

    init() {}

    func acquire() async {
        if state.withLock({ state in
            if state.held { return false }
            state.held = true
            return true
        }) {
            return
        }
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state -> Bool in
                if !state.held {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
