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
/// Every table and column is classified in ``DataInventory/kith`` (CON-00, SEC-07).
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
        Migration(
            id: "0006-social-network",
            statements: [
                """
                CREATE TABLE profiles (
                    user_id TEXT PRIMARY KEY,
                    display_name TEXT NOT NULL DEFAULT '',
                    headline TEXT NOT NULL DEFAULT '',
                    employer TEXT NOT NULL DEFAULT '',
                    school TEXT NOT NULL DEFAULT '',
                    city TEXT NOT NULL DEFAULT '',
                    avatar_url TEXT NOT NULL DEFAULT '',
                    audiences TEXT NOT NULL DEFAULT '{}',
                    employer_key TEXT NOT NULL DEFAULT '',
                    employer_public INTEGER NOT NULL DEFAULT 0,
                    school_key TEXT NOT NULL DEFAULT '',
                    school_public INTEGER NOT NULL DEFAULT 0,
                    hide_connections INTEGER NOT NULL DEFAULT 0,
                    suggestable INTEGER NOT NULL DEFAULT 1,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX profiles_employer ON profiles (employer_key) WHERE employer_public = 1",
                "CREATE INDEX profiles_school ON profiles (school_key) WHERE school_public = 1",
                """
                CREATE TABLE connections (
                    user_id TEXT NOT NULL,
                    peer_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (user_id, peer_id)
                )
                """,
                """
                CREATE TABLE connection_requests (
                    id TEXT PRIMARY KEY,
                    from_id TEXT NOT NULL,
                    to_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    responded_at BIGINT
                )
                """,
                "CREATE UNIQUE INDEX connection_requests_pending ON connection_requests (from_id, to_id) WHERE status = 'pending'",
                "CREATE INDEX connection_requests_to ON connection_requests (to_id, status)",
                """
                CREATE TABLE blocks (
                    user_id TEXT NOT NULL,
                    blocked_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (user_id, blocked_id)
                )
                """,
                "CREATE INDEX blocks_blocked ON blocks (blocked_id)",
                """
                CREATE TABLE endorsements (
                    id TEXT PRIMARY KEY,
                    endorser_id TEXT NOT NULL,
                    endorsee_id TEXT NOT NULL,
                    tag TEXT NOT NULL,
                    hidden INTEGER NOT NULL DEFAULT 0,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX endorsements_once ON endorsements (endorsee_id, endorser_id, tag)",
                "CREATE INDEX endorsements_endorser ON endorsements (endorser_id)",
                """
                CREATE TABLE suggestion_dismissals (
                    user_id TEXT NOT NULL,
                    dismissed_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (user_id, dismissed_id)
                )
                """,
                """
                CREATE TABLE graph_changes (
                    at BIGINT NOT NULL,
                    user_id TEXT NOT NULL,
                    peer_id TEXT NOT NULL
                )
                """,
                "CREATE INDEX graph_changes_at ON graph_changes (at)",
            ]
        ),
        Migration(
            id: "0007-discoverable-index",
            statements: [
                // Contact discovery keeps an in-memory index of the people who chose to be found by their number
                // (CON-05) and catches it up on every upload from the consents logged since the newest it saw:
                // each grant's processing-log sequence number (its evidence is `log:<seq>`), which orders
                // grants as they committed. Not an index led by `purpose`: it would tempt SQLite's planner (no
                // statistics) to start the confirmation query from every discoverable person.
                "ALTER TABLE consents ADD COLUMN log_seq BIGINT",
                "UPDATE consents SET log_seq = CAST(SUBSTR(evidence, 5) AS BIGINT) WHERE evidence LIKE 'log:%'",
                "CREATE INDEX consents_log_seq ON consents (log_seq)",
            ]
        ),
        Migration(
            id: "0008-outbound-messages",
            statements: [
                // One record per outbound message (MSG-04): what was authorised by which log entry, kept for
                // the security-log minimum. The body is kept only as a digest.
                """
                CREATE TABLE outbound_messages (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    purpose TEXT NOT NULL,
                    body_digest TEXT NOT NULL,
                    log_seq BIGINT NOT NULL,
                    subject_id TEXT,
                    created_at BIGINT NOT NULL,
                    sent_at BIGINT
                )
                """,
                "CREATE INDEX outbound_messages_subject ON outbound_messages (subject_id)",
                // To whom the message may go, as the recipient's blind index: only until it is sent or
                // expires, so a number a stranger typed leaves no keyed hash behind (SEC-05).
                """
                CREATE TABLE message_recipients (
                    message_id TEXT PRIMARY KEY,
                    recipient_index TEXT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX message_recipients_expiry ON message_recipients (expires_at)",
            ]
        ),
        Migration(
            id: "0009-operators",
            statements: [
                // Operators (SEC-02): staff who sign in apart from users; the secret is kept only as its hash.
                """
                CREATE TABLE operators (
                    name TEXT PRIMARY KEY,
                    secret_hash TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    evidence TEXT NOT NULL
                )
                """
            ]
        ),
        Migration(
            id: "0010-session-revocations",
            statements: [
                // Sessions ended, for the session caches of the other nodes (issue 12); kept an hour.
                """
                CREATE TABLE session_revocations (
                    token_hash TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    revoked_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX session_revocations_time ON session_revocations (revoked_at)",
                "CREATE INDEX session_revocations_user ON session_revocations (user_id)",
            ]
        ),
        Migration(
            id: "0011-limits-and-number-changes",
            statements: [
                // Codes sent, for the per-number limits and the pumping guard (GEN-08); kept a day.
                """
                CREATE TABLE code_sends (
                    phone_index TEXT NOT NULL,
                    range_key TEXT NOT NULL,
                    network_key TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    sent_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX code_sends_number ON code_sends (phone_index, sent_at)",
                "CREATE INDEX code_sends_range ON code_sends (range_key, sent_at)",
                "CREATE INDEX code_sends_time ON code_sends (sent_at)",
                """
                CREATE TABLE code_range_blocks (
                    range_key TEXT PRIMARY KEY,
                    blocked_until BIGINT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                // Whom each person read in each hour, and the readers the bulk-read detector stopped (GEN-05).
                """
                CREATE TABLE read_subjects (
                    reader_id TEXT NOT NULL,
                    subject_id TEXT NOT NULL,
                    hour BIGINT NOT NULL,
                    read_at BIGINT NOT NULL,
                    PRIMARY KEY (reader_id, subject_id, hour)
                )
                """,
                "CREATE INDEX read_subjects_time ON read_subjects (read_at)",
                """
                CREATE TABLE read_blocks (
                    user_id TEXT PRIMARY KEY,
                    blocked_until BIGINT NOT NULL
                )
                """,
                // Number changes, registration locks and recycled numbers (DSR-03, ACC-12).
                "ALTER TABLE verifications ADD COLUMN user_id TEXT",
                "ALTER TABLE users ADD COLUMN registration_lock TEXT",
                "ALTER TABLE users ADD COLUMN last_session_at BIGINT",
                "ALTER TABLE users ADD COLUMN phone_seq BIGINT",
                "ALTER TABLE users ADD COLUMN frozen_at BIGINT",
                "CREATE INDEX users_phone_seq ON users (phone_seq)",
            ]
        ),
        Migration(
            id: "0012-account-erasure",
            statements: [
                // Account deletions asked for (DSR-04, ACC-10): the person until erased, then only times and counts.
                """
                CREATE TABLE account_deletions (
                    id TEXT PRIMARY KEY,
                    user_id TEXT,
                    requested_at BIGINT NOT NULL,
                    erase_after BIGINT NOT NULL,
                    erased_at BIGINT,
                    summary TEXT
                )
                """,
                "CREATE INDEX account_deletions_user ON account_deletions (user_id)",
                "CREATE INDEX account_deletions_due ON account_deletions (erase_after)",
                // Who was erased, encrypted, for an hour: how the other nodes' in-memory holders forget them.
                """
                CREATE TABLE erasure_notices (
                    at BIGINT NOT NULL,
                    subject_cipher TEXT NOT NULL
                )
                """,
                "CREATE INDEX erasure_notices_at ON erasure_notices (at)",
            ]
        ),
        Migration(
            id: "0013-data-requests",
            statements: [
                // Requests that need a person (DSR-02, DSR-06..08): what was asked, by when, how it was answered.
                """
                CREATE TABLE data_requests (
                    id TEXT PRIMARY KEY,
                    requester_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    text TEXT NOT NULL,
                    submitted_at BIGINT NOT NULL,
                    due_at BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    resolved_at BIGINT,
                    resolved_by TEXT,
                    reason_code TEXT,
                    resolution TEXT
                )
                """,
                "CREATE INDEX data_requests_requester ON data_requests (requester_id)",
                "CREATE INDEX data_requests_open ON data_requests (status, due_at)",
            ]
        ),
        Migration(
            id: "0014-invitations",
            statements: [
                // An inviter's invitations (MSG-02, MSG-04): no recipient number, the SHA-256 of the exact text,
                // the log entry of the act, the message when Kith sent it.
                """
                CREATE TABLE invitations (
                    id TEXT PRIMARY KEY,
                    inviter_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    text_sha256 TEXT NOT NULL,
                    link_code TEXT NOT NULL UNIQUE,
                    message_id TEXT,
                    created_at BIGINT NOT NULL,
                    evidence TEXT NOT NULL
                )
                """,
                "CREATE INDEX invitations_inviter ON invitations (inviter_id, created_at)",
                // One invitation per number in the window, from anyone (MSG-05): the number's keyed index only.
                """
                CREATE TABLE invitation_recipients (
                    recipient_index TEXT PRIMARY KEY,
                    link_code TEXT NOT NULL UNIQUE,
                    invited_at BIGINT NOT NULL
                )
                """,
            ]
        ),
        Migration(
            id: "0015-partners",
            statements: [
                // Partners that refer people (ACC-05): a name and the hash of their token, nothing else.
                """
                CREATE TABLE partners (
                    name TEXT PRIMARY KEY,
                    secret_hash TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL
                )
                """,
                // A partner's referral codes and how many accounts were opened with each: a count, never who.
                """
                CREATE TABLE referral_codes (
                    code TEXT PRIMARY KEY,
                    partner TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    signups BIGINT NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX referral_codes_partner ON referral_codes (partner)",
            ]
        ),
        Migration(
            id: "0016-lookup-indexes",
            statements: [
                // Found by EXPLAIN QUERY PLAN on a 10M-user store (SQLite keeps no statistics here, so a
                // missing index is a whole-table scan, held inside the one writer's transaction). Erasure and
                // export look a person up by the other side of a pair (DSR-02, DSR-04); a code request clears
                // expired codes (ACC-12); the sweeper's rules filter on these times (SEC-05).
                "CREATE INDEX connections_peer ON connections (peer_id)",
                "CREATE INDEX connection_requests_from ON connection_requests (from_id, status)",
                "CREATE INDEX suggestion_dismissals_dismissed ON suggestion_dismissals (dismissed_id)",
                "CREATE INDEX verifications_user ON verifications (user_id)",
                "CREATE INDEX verifications_expiry ON verifications (expires_at)",
                "CREATE INDEX read_subjects_subject ON read_subjects (subject_id)",
                "CREATE INDEX message_recipients_recipient ON message_recipients (recipient_index)",
                "CREATE INDEX users_frozen ON users (frozen_at) WHERE frozen_at IS NOT NULL",
                "CREATE INDEX sessions_expiry ON sessions (expires_at)",
                "CREATE INDEX outbound_messages_created ON outbound_messages (created_at)",
                "CREATE INDEX discovery_tokens_created ON discovery_tokens (created_at)",
                "CREATE INDEX invitations_created ON invitations (created_at)",
                "CREATE INDEX invitation_recipients_invited ON invitation_recipients (invited_at)",
                "CREATE INDEX account_deletions_requested ON account_deletions (requested_at)",
                "CREATE INDEX data_requests_submitted ON data_requests (submitted_at)",
                "CREATE INDEX read_blocks_until ON read_blocks (blocked_until)",
                "CREATE INDEX code_range_blocks_until ON code_range_blocks (blocked_until)",
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
    /// - Throws: ``KithError/Code/internalError`` (field `kith_migrations`) when the store was migrated by
    ///   a newer Kith: a schema newer than the code is refused rather than served (issue 10 §9).
    @discardableResult
    public func migrate(_ migrations: [Migration] = Migrations.all, logger: Logger) async throws -> [String] {
        let backend = self.backend
        try await transaction { sql in
            if backend == .postgres { try await sql.raw("SELECT pg_advisory_xact_lock(7301)").run() }
            try await sql.raw(
                "CREATE TABLE IF NOT EXISTS kith_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
            ).run()
            try await Self.refuseUnknownMigrations(known: migrations, on: sql)
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

extension KithDatabase {
    /// Throws when `kith_migrations` records a migration `known` does not contain: the store's schema is
    /// newer than this code, which would misread it.
    static func refuseUnknownMigrations(known: [Migration], on sql: any SQLDatabase) async throws {
        let knownIDs = Set(known.map(\.id))
        let applied = try await sql.raw("SELECT id FROM kith_migrations").all().map {
            try $0.decode(column: "id", as: String.self)
        }
        let unknown = applied.filter { !knownIDs.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw KithError(
                .internalError,
                field: "kith_migrations",
                detail: "The store was migrated by a newer Kith (migration \(unknown.joined(separator: ", ")) is "
                    + "unknown to this version); run the newer version or restore a backup made for this one."
            )
        }
    }
}
