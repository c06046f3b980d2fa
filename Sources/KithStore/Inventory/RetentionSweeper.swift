import KithCore
import Logging
import SQLKit
import ServiceLifecycle

/// One deletion rule of the retention schedule, read from the inventory: rows of `table` whose time in
/// `timeColumn` has passed their retention, optionally only those whose `keyColumn` starts with `prefix`.
public struct SweepRule: Sendable, Equatable, CustomStringConvertible {
    public var table: String
    public var retention: Retention
    /// For rules of a ``KeyPattern``: the column holding the keys and the pattern's literal start.
    public var key: (column: String, prefix: String)?

    public static func == (lhs: SweepRule, rhs: SweepRule) -> Bool {
        lhs.table == rhs.table && lhs.retention == rhs.retention && lhs.key?.column == rhs.key?.column
            && lhs.key?.prefix == rhs.key?.prefix
    }

    public var description: String {
        key.map { "\(table) where \($0.column) starts with \($0.prefix)" } ?? table
    }
}

/// What one sweep deleted: counts per table, never a key or an identifier.
public struct RetentionSweep: Sendable, Equatable {
    /// Rows deleted, by table; tables with none are absent.
    public var deleted: [String: Int]
    /// The processing-log entry of the sweep; `nil` when nothing was deleted (and nothing logged).
    public var entry: ProcessingEntry?

    public var total: Int { deleted.values.reduce(0, +) }
}

/// Deletes what the data inventory says has expired, on a schedule (SEC-05, PIPL 19, 47(1)(2)).
///
/// The rules are every ``Retention/untilExpiry(column:unit:)`` and ``Retention/window(seconds:after:unit:)``
/// in ``DataInventory``, on tables and on key patterns: expired verification codes and sessions,
/// rate-limit buckets whose limit has filled up again (so deleting them changes nothing), stale
/// discovery recheck tokens, old graph changes, and whatever a later capability declares. There is no
/// list of tables here.
///
/// A sweep that deletes anything is one processing act, logged in the same transaction with counts only
/// (purpose `security-log`, actor `system`, initiation `system`/`retentionSweep`): a legal duty's
/// record, never a number, key or ID. The processing log itself is never swept (SEC-01).
public struct RetentionSweeper: Service, CustomStringConvertible {
    /// ServiceLifecycle logs this name; the default would print the whole store.
    public var description: String { "RetentionSweeper" }

    let store: KithStore
    public let inventory: DataInventory
    /// Time between sweeps.
    public var interval: Duration
    let logger: Logger
    /// Erases the accounts due for it before each sweep (DSR-04, ACC-12): a whole account is erased by its
    /// own walk of the inventory, not row by row.
    let erasure: AccountErasure?

    /// - Parameters:
    ///   - interval: time between sweeps (`kith.retention.sweep.seconds`, default 10 minutes).
    ///   - logger: for failures only; a sweep's counts go to the processing log.
    public init(
        store: KithStore,
        inventory: DataInventory = .kith,
        interval: Duration = .seconds(600),
        erasure: AccountErasure? = nil,
        logger: Logger
    ) {
        self.erasure = erasure
        self.store = store
        self.inventory = inventory
        self.interval = interval
        self.logger = logger
    }

    /// The deletion rules, from the inventory.
    public var rules: [SweepRule] { inventory.sweepRules }

    /// Sweeps every `interval` until graceful shutdown. The first sweep waits one interval, so the store
    /// is migrated by then. A failed sweep is logged (error type only) and retried at the next interval.
    public func run() async throws {
        let interval = self.interval
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                do {
                    // An erasure that fails is retried at the next sweep; the sweep itself runs regardless.
                    _ = try? await erasure?.eraseDue()
                    try await sweep()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("retention sweep failed", metadata: ["error.type": "\(type(of: error))"])
                }
            }
        }
    }

    /// Deletes every row past its retention at `now` (the store's clock by default), in one transaction
    /// with its log entry.
    ///
    /// - Returns: the counts per table and the log entry (none when nothing was due).
    @discardableResult
    public func sweep(now: Int64? = nil) async throws -> RetentionSweep {
        let store = self.store
        let rules = self.rules
        let now = now ?? store.clock.nowMillis
        return try await store.database.transaction { sql in
            var deleted: [String: Int] = [:]
            for rule in rules {
                let count = try await Self.delete(rule, now: now, on: sql)
                if count > 0 { deleted[rule.table, default: 0] += count }
            }
            guard !deleted.isEmpty else { return RetentionSweep(deleted: [:], entry: nil) }
            let counts = deleted.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            let total = deleted.values.reduce(0, +)
            let act = ProcessingAct(
                purpose: .securityLog,
                actor: .system,
                subject: nil,
                initiation: Initiation(kind: .system, action: "retentionSweep"),
                detail: "retention sweep deleted \(total) rows: " + counts.joined(separator: ", ")
            )
            let basis = try await ProcessingGate.basis(for: act, store: store, on: sql)
            let entry = try await ProcessingGate.append(act, basisRef: basis, store: store, on: sql)
            return RetentionSweep(deleted: deleted, entry: entry)
        }
    }

    /// Deletes the rows one rule says have expired and counts them.
    static func delete(_ rule: SweepRule, now: Int64, on sql: any SQLDatabase) async throws -> Int {
        guard let query = deletion(rule, now: now) else { return 0 }
        return try await sql.raw(query + " RETURNING 1 AS one").all().count
    }

    /// The statement deleting what `rule` says has expired at `now`; `nil` for a rule without expiry.
    static func deletion(_ rule: SweepRule, now: Int64) -> SQLQueryString? {
        guard let (column, cutoff, unit) = rule.retention.expiry(nowMillis: now) else { return nil }
        let bound: any Encodable & Sendable = unit == .seconds ? cutoff : Int64(cutoff)
        var query: SQLQueryString = "DELETE FROM \(ident: rule.table) WHERE \(ident: column) < \(bind: bound)"
        if let key = rule.key {
            // SUBSTR, not LIKE: exact and case-sensitive on both stores.
            query += " AND SUBSTR(\(ident: key.column), 1, \(literal: key.prefix.count)) = \(bind: key.prefix)"
        }
        return query
    }
}

extension DataInventory {
    /// The deletion rules the inventory declares (SEC-05): every table and key pattern whose retention is
    /// an expiry or a window, tables first, then key patterns, in declaration order.
    public var sweepRules: [SweepRule] {
        var rules: [SweepRule] = []
        for table in tables {
            if table.retention.expiry(nowMillis: 0) != nil {
                rules.append(SweepRule(table: table.name, retention: table.retention, key: nil))
            }
            for column in table.columns {
                for pattern in column.keyPatterns where pattern.retention.expiry(nowMillis: 0) != nil {
                    rules.append(
                        SweepRule(table: table.name, retention: pattern.retention, key: (column.name, pattern.prefix))
                    )
                }
            }
        }
        return rules
    }
}
