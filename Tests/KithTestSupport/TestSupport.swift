import Foundation
import KithCore
import Logging
import SQLKit
import Synchronization

@testable import KithStore

/// The stores a test runs against: `KITH_TEST_BACKENDS` (comma-separated, default `sqlite`);
/// PostgreSQL needs `KITH_TEST_POSTGRES_URL` (an admin URL; each test gets a database of its own).
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var enabled: [Backend] {
        let names = ProcessInfo.processInfo.environment["KITH_TEST_BACKENDS"] ?? "sqlite"
        return names.split(separator: ",").compactMap { Backend(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }
}

/// A database URL that exists for the duration of `body`: a temporary SQLite file, or a fresh PostgreSQL
/// database created from `KITH_TEST_POSTGRES_URL` and dropped afterwards.
public func withTestDatabaseURL<T: Sendable>(
    _ backend: Backend,
    _ body: @Sendable (String) async throws -> T
) async throws -> T {
    switch backend {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kith-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body("sqlite://" + directory.appendingPathComponent("kith.sqlite").path)
    case .postgres:
        guard let admin = ProcessInfo.processInfo.environment["KITH_TEST_POSTGRES_URL"] else {
            throw TestSetupError.postgresNotConfigured
        }
        let name = "kith_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let logger = quietLogger()
        try await withDatabase(url: admin, logger: logger) { database in
            try await database.read { sql in try await sql.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        }
        var components = URLComponents(string: admin)!
        components.path = "/" + name
        do {
            let result = try await body(components.string!)
            try? await dropDatabase(name, admin: admin)
            return result
        } catch {
            try? await dropDatabase(name, admin: admin)
            throw error
        }
    }
}

private func dropDatabase(_ name: String, admin: String) async throws {
    try await withDatabase(url: admin, logger: quietLogger()) { database in
        try await database.read { sql in
            try await sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
        }
    }
}

/// Opens a migrated test store and runs `body` with it.
public func withTestStore<T: Sendable>(
    _ backend: Backend,
    catalogue: PurposeCatalogue = .standard,
    clock: WallClock = .system,
    _ body: @Sendable (KithStore) async throws -> T
) async throws -> T {
    try await withTestDatabaseURL(backend) { url in
        try await withDatabase(url: url, logger: quietLogger()) { database in
            try await database.migrate(logger: quietLogger())
            return try await body(KithStore(database: database, keys: testKeys, catalogue: catalogue, clock: clock))
        }
    }
}

public enum TestSetupError: Error {
    case postgresNotConfigured
}

/// One key set for the whole test run.
public let testKeys = KithKeys.generate()

public func quietLogger() -> Logger {
    var logger = Logger(label: "kith-test")
    logger.logLevel = .critical
    return logger
}

/// A log handler that keeps every line, so tests can prove what never appears in logs.
public final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    public var all: [String] { lines.withLock { $0 } }

    public func logger(label: String = "kith", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { label in CapturingHandler(label: label, sink: self) }
        logger.logLevel = level
        return logger
    }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// Lines containing `needle`.
    public func lines(containing needle: String) -> [String] { all.filter { $0.contains(needle) } }
}

struct CapturingHandler: LogHandler {
    let label: String
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        sink.append("\(event.level) \(label): \(event.message) \(rendered) [\(event.source)]")
    }
}

/// The processing log's entries, oldest first, decoded.
public func loggedEntries(_ store: KithStore) async throws -> [ProcessingEntry] {
    try await store.database.read { sql in
        try await sql.raw("SELECT entry FROM processing_log ORDER BY seq").all().map {
            try JSONDecoder().decode(
                ProcessingEntry.self,
                from: Data(try $0.decode(column: "entry", as: String.self).utf8)
            )
        }
    }
}

extension CodeRequester {
    /// A client of the documentation range (RFC 5737) asking for a code.
    public static let test = CodeRequester(address: "192.0.2.1", network: "192.0.2.0/24")
}
