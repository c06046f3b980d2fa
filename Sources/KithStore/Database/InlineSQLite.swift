import KithCore
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization
import VaporCSQLite

/// A SQLite read connection whose statements run on the calling thread, with its statements prepared
/// once and kept (issue 12).
///
/// sqlite-nio runs every statement on NIO's thread pool: the request's event loop wakes a pool thread,
/// which runs the statement and wakes the event loop again. For the point reads of a request (the
/// session, the person's own record, a profile, a consent) those two thread switches cost several times
/// the statement itself — measured, a `GET /health` that pings the store served half the requests a
/// second of one without. A read that scans a table instead goes to the thread-pool connections
/// (``KithDatabase/scan(_:)``), so it never holds an event loop for long.
///
/// One task at a time (``SQLiteReaders`` lends it); WAL mode lets it read beside the writer. The writer
/// is one too, on a thread of its own (``SQLiteWriter``).
final class InlineSQLiteConnection: @unchecked Sendable {
    // SAFETY: `handle` and `statements` are used by one task at a time: ``SQLiteReaders`` lends the
    // connection to one borrower and takes it back before lending it again; ``SQLiteWriter`` holds its
    // lock while it uses its connection.
    private var handle: OpaquePointer?
    /// Prepared statements by SQL text, each with its result columns.
    private var statements: [String: (statement: OpaquePointer, columns: InlineSQLiteRow.Columns)] = [:]
    /// Prepared statements kept at most; the cache starts again when full.
    static let statementCapacity = 256

    /// Opens `path` (`:memory:` for a database of this connection only).
    ///
    /// - Parameter writes: Whether this is the store's one write connection (it creates the file and sets
    ///   the journal up); otherwise only reads run here.
    init(path: String, writes: Bool = false) throws {
        var handle: OpaquePointer?
        let flags =
            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | (writes ? SQLITE_OPEN_CREATE : 0)
        let opened = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard opened == SQLITE_OK, let handle else {
            sqlite_nio_sqlite3_close(handle)
            throw Self.error(opened)
        }
        self.handle = handle
        // Contact discovery confirms its candidates by random lookups in the phone_index B-tree of every
        // account: read the file through a memory map (up to SQLite's 2 GiB cap) and keep 128 MiB of pages
        // per connection, rather than a pread per page through the default 2 MiB cache.
        let shared = ["PRAGMA busy_timeout=5000", "PRAGMA mmap_size=2147418112", "PRAGMA cache_size=-131072"]
        let own =
            writes
            ? [
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                // Deleted rows are overwritten with zeros, not left in free pages of the file (DSR-04): an
                // erased person is not in the bytes of the store either.
                "PRAGMA secure_delete=ON",
                // Each member of a group commit runs in a savepoint, whose undo pages SQLite wrote to a
                // temporary file with a pwrite each (5% of the writer's time in `kith bench messages`).
                // They are only for rolling a savepoint back inside the open transaction, never for
                // durability: keep them in memory.
                "PRAGMA temp_store=MEMORY",
            ] : ["PRAGMA query_only=1"]
        for pragma in own + shared {
            try run(pragma, binds: []) { _ in }
        }
    }

    deinit { close() }

    func close() {
        for kept in statements.values { sqlite_nio_sqlite3_finalize(kept.statement) }
        statements = [:]
        if let handle { sqlite_nio_sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs `sql` with `binds`, handing each row to `onRow`.
    func run(_ sql: String, binds: [SQLiteData], _ onRow: (InlineSQLiteRow) throws -> Void) throws {
        guard let handle else { throw KithError(.storeUnavailable, detail: "The store is shutting down.") }
        let (statement, columns) = try prepared(sql, on: handle)
        // Every parameter is bound again before the next run, so the bindings are not cleared: clearing
        // them marks a statement whose plan looked at a parameter as expired, and SQLite would parse
        // and plan it again at every run (measured: the endorsement counts of every profile view).
        defer { sqlite_nio_sqlite3_reset(statement) }
        for (offset, bind) in binds.enumerated() {
            let index = Int32(offset + 1)
            let bound: Int32
            switch bind {
            case .integer(let value): bound = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
            case .float(let value): bound = sqlite_nio_sqlite3_bind_double(statement, index, value)
            case .text(let value):
                bound = sqlite_nio_sqlite3_bind_text64(
                    statement,
                    index,
                    value,
                    UInt64(value.utf8.count),
                    Self.transient,
                    UInt8(SQLITE_UTF8)
                )
            case .blob(let value):
                bound = value.withUnsafeReadableBytes {
                    sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), Self.transient)
                }
            case .null: bound = sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard bound == SQLITE_OK else { throw Self.error(bound) }
        }
        let count = Int32(columns.names.count)
        while true {
            let stepped = sqlite_nio_sqlite3_step(statement)
            if stepped == SQLITE_DONE { return }
            guard stepped == SQLITE_ROW else { throw Self.error(stepped) }
            var values: [SQLiteData] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count { values.append(Self.value(of: statement, at: column)) }
            try onRow(InlineSQLiteRow(columns: columns, values: values))
        }
    }

    private func prepared(
        _ sql: String,
        on handle: OpaquePointer
    ) throws -> (statement: OpaquePointer, columns: InlineSQLiteRow.Columns) {
        // A statement re-prepared after another node's migration may have gained columns.
        if let kept = statements[sql], sqlite_nio_sqlite3_column_count(kept.statement) == kept.columns.names.count {
            return kept
        }
        if let stale = statements.removeValue(forKey: sql) { sqlite_nio_sqlite3_finalize(stale.statement) }
        var statement: OpaquePointer?
        let result = sqlite_nio_sqlite3_prepare_v3(
            handle,
            sql,
            -1,
            UInt32(SQLITE_PREPARE_PERSISTENT),
            &statement,
            nil
        )
        guard result == SQLITE_OK, let statement else { throw Self.error(result) }
        if statements.count >= Self.statementCapacity {
            for kept in statements.values { sqlite_nio_sqlite3_finalize(kept.statement) }
            statements.removeAll(keepingCapacity: true)
        }
        let names = (0..<sqlite_nio_sqlite3_column_count(statement)).map { column in
            sqlite_nio_sqlite3_column_name(statement, column).map { String(cString: $0) } ?? ""
        }
        let kept = (statement, InlineSQLiteRow.Columns(names))
        statements[sql] = kept
        return kept
    }

    private static func value(of statement: OpaquePointer, at column: Int32) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let blob = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: blob, count: count))
            }
            return .blob(buffer)
        default: return .null
        }
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The store's error for a SQLite result code: unavailable for a busy, full or failing file, else an
    /// internal error. Never the statement or its values.
    static func error(_ code: Int32) -> KithError {
        switch code & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY:
            return KithError(.storeUnavailable, detail: "The store cannot answer right now; retry later.")
        default:
            return KithError(.internalError, detail: "The store refused the operation; nothing was changed.")
        }
    }
}

/// A row read by ``InlineSQLiteConnection``, decoded as SQLiteKit decodes its own rows.
struct InlineSQLiteRow: SQLRow {
    /// Column names and their positions, shared by the rows of one statement.
    final class Columns: Sendable {
        let names: [String]
        let positions: [String: Int]

        init(_ names: [String]) {
            self.names = names
            var positions: [String: Int] = [:]
            // The first column of a name wins, as in SQLiteNIO's rows.
            for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
            self.positions = positions
        }
    }

    let columns: Columns
    let values: [SQLiteData]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.positions[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        try value(column).isNull
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        let value = try value(column)
        // The column types Kith reads, directly; SQLiteKit's decoder (which makes a JSON decoder per call)
        // for anything else.
        switch value {
        case .text(let text): if let text = text as? D { return text }
        case .integer(let integer):
            if let integer = integer as? D { return integer }
            if D.self == Int64.self { return Int64(integer) as! D }
        default: break
        }
        return try Self.decoder.decode(D.self, from: value)
    }

    private static let decoder = SQLiteDataDecoder()

    private func value(_ column: String) throws -> SQLiteData {
        guard let position = columns.positions[column] else {
            throw DecodingError.keyNotFound(
                SQLiteColumnKey(column),
                .init(codingPath: [], debugDescription: "No column named \(column) in the row.")
            )
        }
        return values[position]
    }
}

private struct SQLiteColumnKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// ``InlineSQLiteConnection`` as SQLKit's database: SQLite's dialect and SQLiteKit's encoding of binds.
struct InlineSQLiteDatabase: SQLDatabase {
    let connection: InlineSQLiteConnection
    let logger: Logger
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { SQLiteDialect() }
    /// Queries are never logged (their binds may be personal data).
    var queryLogLevel: Logger.Level? { nil }

    func execute(
        sql query: any SQLExpression,
        _ onRow: @escaping @Sendable (any SQLRow) -> Void
    ) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        let (sql, binds) = serialize(query)
        try connection.run(sql, binds: try binds.map(Self.encode)) { onRow($0) }
    }

    /// A bind as SQLite data: text and integers directly, anything else through SQLiteKit's encoder.
    private static func encode(_ bind: any Encodable & Sendable) throws -> SQLiteData {
        if let text = bind as? String { return .text(text) }
        if let integer = bind as? Int { return .integer(integer) }
        if let integer = bind as? Int64 { return .integer(Int(integer)) }
        return try encoder.encode(bind)
    }

    private static let encoder = SQLiteDataEncoder()
}
