import KithCore
import Logging
import SQLKit

/// One schema change. Migrations are registered in order, applied once, and never edited after release
/// (new changes get new migrations).
public struct Migration: Sendable {
    public let id: String
    public let statements: [String]

    public init(id: String, statements: [String]) {
        self.id = id
        self.statements = statements
    }
}

/// Kith's schema, as an ordered list of migrations.
///
/// The SQL is the common subset of SQLite and PostgreSQL (and of the PostgreSQL-compatible distributed
/// engines): `TEXT`, `BIGINT`, `INTEGER`, `DOUBLE PRECISION`; no auto-increment, no engine-specific types.
/// Every table that grows with users carries the owning user's ID, so it can be distributed by it.
/// Tables holding personal information are listed in ``PersonalDataInventory``.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(
            id: "0001-accounts",
            statements: [
                """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY,
                    phone_index TEXT NOT NULL UNIQUE,
                    phone_cipher TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    registration_evidence TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE verifications (
                    id TEXT PRIMARY KEY,
                    phone_index TEXT NOT NULL,
                    phone_cipher TEXT NOT NULL,
                    code_hash TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    expires_at BIGINT NOT NULL,
                    consumed INTEGER NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX verifications_phone ON verifications (phone_index)",
                """
                CREATE TABLE sessions (
                    token_hash TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX sessions_user ON sessions (user_id)",
                """
                CREATE TABLE subject_keys (
                    user_id TEXT PRIMARY KEY,
                    key_cipher TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
            ]
        ),
        Migration(
            id: "0002-consent-ledger",
            statements: [
                """
                CREATE TABLE consents (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    purpose TEXT NOT NULL,
                    notice_version INTEGER NOT NULL,
                    locale TEXT NOT NULL,
                    text_sha256 TEXT NOT NULL,
                    initial_state TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    granted_at BIGINT NOT NULL,
                    withdrawn_at BIGINT,
                    evidence TEXT NOT NULL,
                    withdrawal_evidence TEXT
                )
                """,
                "CREATE INDEX consents_user_purpose ON consents (user_id, purpose)",
            ]
        ),
        Migration(
            id: "0003-processing-log",
            statements: [
                """
                CREATE TABLE processing_log (
                    seq BIGINT PRIMARY KEY,
                    at BIGINT NOT NULL,
                    subject_ref TEXT,
                    purpose TEXT NOT NULL,
                    entry TEXT NOT NULL
                )
                """,
                "CREATE INDEX processing_log_subject ON processing_log (subject_ref)",
                """
                CREATE TABLE log_state (
                    id INTEGER PRIMARY KEY,
                    size BIGINT NOT NULL,
                    frontier TEXT NOT NULL,
                    root TEXT NOT NULL,
                    signature TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE log_checkpoints (
                    tree_size BIGINT PRIMARY KEY,
                    root TEXT NOT NULL,
                    signature TEXT NOT NULL,
                    at BIGINT NOT NULL
                )
                """,
                "INSERT INTO log_state (id, size, frontier, root, signature) VALUES (1, 0, '', '', '')",
            ]
        ),
        Migration(
            id: "0004-rate-limits",
            statements: [
                """
                CREATE TABLE rate_buckets (
                    bucket TEXT PRIMARY KEY,
                    tokens DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL
                )
                """
            ]
        ),
        Migration(
            id: "0005-contact-discovery",
            statements: [
                "ALTER TABLE verifications ADD COLUMN kind TEXT NOT NULL DEFAULT 'sign-in'",
                "CREATE INDEX users_created ON users (created_at)",
                """
                CREATE TABLE contact_edges (
                    owner_id TEXT NOT NULL,
                    contact_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (owner_id, contact_id)
                )
                """,
                "CREATE INDEX contact_edges_contact ON contact_edges (contact_id)",
                """
                CREATE TABLE number_suppressions (
                    phone_index TEXT PRIMARY KEY,
                    created_at BIGINT NOT NULL,
                    evidence TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE discovery_tokens (
                    user_id TEXT NOT NULL,
                    token_hash TEXT NOT NULL,
                    number_count INTEGER NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (user_id, token_hash)
                )
                """,
            ]
        ),
    ]
}

extension KithDatabase {
    /// Applies the migrations not yet applied, in order, each in its own transaction.
    ///
    /// Safe to run from several nodes at once: on PostgreSQL an advisory lock serialises them, on SQLite
    /// the single writer does.
    /// - Returns: the IDs of the migrations applied now.
    @discardableResult
    public func migrate(_ migrations: [Migration] = Migrations.all, logger: Logger) async throws -> [String] {
        let backend = self.backend
        try await transaction { sql in
            if backend == .postgres { try await sql.raw("SELECT pg_advisory_xact_lock(7301)").run() }
            try await sql.raw(
                "CREATE TABLE IF NOT EXISTS kith_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
            ).run()
        }
        var applied: [String] = []
        for migration in migrations {
            let didApply = try await transaction { sql in
                if backend == .postgres { try await sql.raw("SELECT pg_advisory_xact_lock(7301)").run() }
                let done = try await sql.raw("SELECT id FROM kith_migrations WHERE id = \(bind: migration.id)").first()
                if done != nil { return false }
                for statement in migration.statements {
                    try await sql.raw(SQLQueryString(statement)).run()
                }
                try await sql.raw(
                    "INSERT INTO kith_migrations (id, applied_at) VALUES (\(bind: migration.id), \(bind: Clock.nowMillis()))"
                ).run()
                return true
            }
            if didApply {
                applied.append(migration.id)
                logger.info("applied migration", metadata: ["migration": "\(migration.id)"])
            }
        }
        return applied
    }
}
