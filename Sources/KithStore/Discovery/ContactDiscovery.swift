import Crypto
import Foundation
import KithCore
import SQLKit
import Synchronization

/// The in-process index of registered numbers' blind-index prefixes, kept current from the `users`
/// table before each match (new accounts made on any node are seen on the next request).
public final class DiscoveryIndex: Sendable {
    private let state = Mutex<(index: PhonePrefixIndex, watermark: Int64)>((PhonePrefixIndex(), Int64.min))

    public init() {}

    public var bytesUsed: Int { state.withLock { $0.index.bytesUsed } }
    public var count: Int { state.withLock { $0.index.count } }

    public func contains(_ prefix: UInt64) -> Bool { state.withLock { $0.index.contains(prefix) } }

    /// Loads accounts created since the last catch-up (with a second of overlap for clock skew between nodes).
    public func catchUp(on database: KithDatabase) async throws {
        let since = state.withLock { $0.watermark }
        let rows = try await database.read { sql in
            try await sql.raw(
                "SELECT phone_index, created_at FROM users WHERE created_at >= \(bind: since == Int64.min ? Int64.min : since - 1000)"
            ).all().map {
                (
                    try $0.decode(column: "phone_index", as: String.self),
                    try $0.decode(column: "created_at", as: Int64.self)
                )
            }
        }
        guard !rows.isEmpty else { return }
        state.withLock { state in
            if state.watermark == Int64.min, rows.count > 4096 {
                state.index = PhonePrefixIndex(prefixes: rows.compactMap { PhonePrefixIndex.prefix(hex: $0.0) })
            } else {
                for (hex, _) in rows {
                    if let prefix = PhonePrefixIndex.prefix(hex: hex) { state.index.insert(prefix) }
                }
            }
            state.watermark = max(state.watermark, rows.map(\.1).max() ?? state.watermark)
        }
    }

    /// Replaces the index wholesale (benchmarks).
    public func load(_ index: PhonePrefixIndex) { state.withLock { $0 = (index, Int64.max) } }
}

/// One uploaded entry that matched a discoverable account.
public struct ContactMatch: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable {
        case numbers
        case previousNumbers
    }

    public var source: Source
    public var index: Int
    public var userId: String
}

/// One uploaded entry that is not a phone number, reported by position only (never echoed).
public struct InvalidEntry: Codable, Sendable, Equatable {
    public var source: ContactMatch.Source
    public var index: Int
    public var reason: PhoneNumber.ParseFailure
}

/// What `uploadContacts` answers.
public struct ContactMatchResult: Codable, Sendable {
    public var matches: [ContactMatch]
    public var invalid: [InvalidEntry]
    /// Proves the whole set asked about so far, so it can be re-checked without spending quota.
    public var recheckToken: String
    /// New numbers this account may still check now.
    public var quotaRemaining: Int
}

/// Address-book matching that keeps nothing it should not (CON-01..08, Ling v. Douyin).
///
/// Numbers are normalised and blind-indexed in memory; only numbers whose prefix is in the
/// ``DiscoveryIndex`` are confirmed against the store, and only accounts that chose to be discoverable
/// (CON-05) and whose number is not suppressed (CON-08) match. A matched number is kept only as a
/// contact edge uploader → account; everything else is forgotten when the request ends (CON-03).
public struct ContactDiscovery: Sendable {
    let store: KithStore
    let index: DiscoveryIndex
    public var quota: RateLimit

    /// - Parameter quota: new numbers per account: a burst of 2,000, then 100 a day (CON-07).
    public init(store: KithStore, index: DiscoveryIndex, quota: RateLimit = .perDay(100, burst: 2000)) {
        self.store = store
        self.index = index
        self.quota = quota
    }

    /// Matches an upload.
    ///
    /// - Parameters:
    ///   - numbers: numbers not checked before; each costs quota.
    ///   - previousNumbers: numbers checked before, proven by `recheckToken`; free.
    /// - Throws: `consent-required` without the uploader's `contact-discovery` consent (CON-01);
    ///   `rate-limited` when the new numbers exceed the quota; `invalid-field` for a token that does
    ///   not prove `previousNumbers`.
    public func match(
        uploader: UserID,
        numbers: [String],
        previousNumbers: [String],
        recheckToken: String?,
        region: PhoneNumber.Region,
        initiation: Initiation
    ) async throws -> ContactMatchResult {
        let act = ProcessingAct(
            purpose: .contactDiscovery,
            actor: .user(uploader),
            subject: uploader,
            initiation: initiation,
            detail: "contact upload"
        )
        try await store.gate.check(act)

        let (entries, invalid) = parse(numbers: numbers, previousNumbers: previousNumbers, region: region)
        let previousSet = Set(entries.filter { $0.source == .previousNumbers }.map(\.blind))
        let fullSet = Set(entries.map(\.blind))
        let newCount = fullSet.subtracting(previousSet).count

        if !previousSet.isEmpty || recheckToken != nil {
            guard let recheckToken, try await knownToken(recheckToken, for: uploader, proves: previousSet) else {
                throw KithError.invalid(
                    "recheckToken",
                    "The token does not prove these previous numbers; upload them as new numbers."
                )
            }
        }
        var remaining = Int(quota.burst)
        if newCount > 0 {
            try await RateLimiter(store: store).take(
                "discovery:" + uploader.rawValue,
                limit: quota,
                cost: Double(newCount)
            )
        }
        remaining = try await quotaLeft(uploader)

        try await index.catchUp(on: store.database)
        let candidates = entries.filter { index.contains(PhonePrefixIndex.prefix(of: $0.blind)) }
        let newToken = token(for: fullSet, user: uploader)
        let store = self.store
        let candidateIndexes = Array(Set(candidates.map { $0.blind.hexString }))
        let (matches, _) = try await store.gate.perform(act) { sql -> ([ContactMatch], detail: String?) in
            let accounts = try await Self.discoverableAccounts(
                candidateIndexes,
                excluding: uploader,
                store: store,
                on: sql
            )
            var matches: [ContactMatch] = []
            var matchedUsers = Set<UserID>()
            for entry in candidates {
                guard let user = accounts[entry.blind.hexString] else { continue }
                matches.append(ContactMatch(source: entry.source, index: entry.index, userId: user.rawValue))
                matchedUsers.insert(user)
            }
            for user in matchedUsers.sorted(by: { $0.rawValue < $1.rawValue }) {
                try await sql.raw(
                    """
                    INSERT INTO contact_edges (owner_id, contact_id, created_at)
                    VALUES (\(bind: uploader.rawValue), \(bind: user.rawValue), \(bind: store.clock.nowMillis))
                    ON CONFLICT (owner_id, contact_id) DO NOTHING
                    """
                ).run()
                let consent = try await ConsentLedger(store: store).current(.discoverableByPhone, of: user, on: sql)
                let targetAct = ProcessingAct(
                    purpose: .discoverableByPhone,
                    actor: .user(uploader),
                    subject: user,
                    initiation: initiation,
                    detail: "found by a contact upload"
                )
                _ = try await ProcessingGate.append(
                    targetAct,
                    basisRef: consent.map { "consent:\($0.id)" },
                    store: store,
                    on: sql
                )
            }
            try await Self.remember(token: newToken, count: fullSet.count, for: uploader, store: store, on: sql)
            return (matches, detail: "\(fullSet.count) numbers matched \(matchedUsers.count) accounts")
        }
        return ContactMatchResult(matches: matches, invalid: invalid, recheckToken: newToken, quotaRemaining: remaining)
    }

    typealias Entry = (source: ContactMatch.Source, index: Int, blind: [UInt8])

    /// Normalises and blind-indexes the uploaded entries in memory; entries that are not numbers are
    /// reported by position and reason only.
    func parse(numbers: [String], previousNumbers: [String], region: PhoneNumber.Region) -> ([Entry], [InvalidEntry]) {
        var invalid: [InvalidEntry] = []
        var entries: [Entry] = []
        entries.reserveCapacity(numbers.count + previousNumbers.count)
        // One keyed HMAC state per request, copied per number: the key schedule runs once.
        let keyed = HMAC<SHA256>(key: store.vault.keys.blindIndex)
        for (source, list) in [(ContactMatch.Source.previousNumbers, previousNumbers), (.numbers, numbers)] {
            for (position, text) in list.enumerated() {
                switch PhoneNumber.parse(text, defaultRegion: region) {
                case .success(let phone):
                    var mac = keyed
                    mac.update(data: Array(phone.e164.utf8))
                    entries.append((source, position, Array(mac.finalize())))
                case .failure(let reason): invalid.append(InvalidEntry(source: source, index: position, reason: reason))
                }
            }
        }
        return (entries, invalid)
    }

    /// The matching itself, read-only: normalise, blind-index, probe the prefix index, confirm the hits
    /// in the store. Returns the discoverable accounts found (benchmarks time this).
    public func resolve(uploader: UserID, numbers: [String], region: PhoneNumber.Region) async throws -> [UserID] {
        let (entries, _) = parse(numbers: numbers, previousNumbers: [], region: region)
        let candidates = entries.filter { index.contains(PhonePrefixIndex.prefix(of: $0.blind)) }.map {
            $0.blind.hexString
        }
        let store = self.store
        return try await store.database.read { sql in
            Array(try await Self.discoverableAccounts(candidates, excluding: uploader, store: store, on: sql).values)
        }
    }

    /// The accounts behind full blind indexes that may be found: discoverable now, not suppressed, not the uploader.
    static func discoverableAccounts(
        _ indexes: [String],
        excluding uploader: UserID,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws -> [String: UserID] {
        guard !indexes.isEmpty else { return [:] }
        var found: [String: UserID] = [:]
        for chunk in stride(from: 0, to: indexes.count, by: 500) {
            let part = Array(indexes[chunk..<min(chunk + 500, indexes.count)])
            let rows = try await sql.select().column("id").column("phone_index").from("users")
                .where("phone_index", .in, part)
                .where(
                    SQLColumn("phone_index"),
                    .notIn,
                    SQLSubquery.select { $0.column("phone_index").from("number_suppressions") }
                )
                .all()
            var byUser: [UserID: String] = [:]
            for row in rows {
                let user = UserID(rawValue: try row.decode(column: "id", as: String.self))
                guard user != uploader else { continue }
                byUser[user] = try row.decode(column: "phone_index", as: String.self)
            }
            guard !byUser.isEmpty else { continue }
            // CON-05: only accounts whose "let people who have my number find me" consent is current.
            let consents = try await sql.select().column("user_id").column("notice_version").from("consents")
                .where("purpose", .equal, PurposeID.discoverableByPhone.rawValue)
                .where(SQLColumn("withdrawn_at"), .is, SQLLiteral.null)
                .where("user_id", .in, byUser.keys.map(\.rawValue))
                .all()
            for row in consents {
                let user = UserID(rawValue: try row.decode(column: "user_id", as: String.self))
                let version = try row.decode(column: "notice_version", as: Int.self)
                guard store.catalogue.consentIsCurrent(for: .discoverableByPhone, givenUnder: version),
                    let index = byUser[user]
                else { continue }
                found[index] = user
            }
        }
        return found
    }

    /// The recheck token of a set of numbers: a keyed digest over their sorted blind indexes. The store
    /// keeps only its SHA-256 and the set's size (Signal's approach).
    func token(for set: Set<[UInt8]>, user: UserID) -> String {
        var mac = HMAC<SHA256>(key: store.vault.keys.blindIndex)
        mac.update(data: Array("kith-recheck-v1|\(user.rawValue)|".utf8))
        for blind in set.sorted(by: { $0.lexicographicallyPrecedes($1) }) { mac.update(data: blind) }
        return Data(mac.finalize()).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
                of: "=",
                with: ""
            )
    }

    func knownToken(_ token: String, for user: UserID, proves set: Set<[UInt8]>) async throws -> Bool {
        guard constantTimeEqual(token, self.token(for: set, user: user)) else { return false }
        let hash = SHA256.hash(data: Array(token.utf8)).hexString
        return try await store.database.read { sql in
            try await sql.raw(
                "SELECT number_count FROM discovery_tokens WHERE user_id = \(bind: user.rawValue) AND token_hash = \(bind: hash)"
            ).first() != nil
        }
    }

    static func remember(
        token: String,
        count: Int,
        for user: UserID,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws {
        let hash = SHA256.hash(data: Array(token.utf8)).hexString
        try await sql.raw(
            """
            INSERT INTO discovery_tokens (user_id, token_hash, number_count, created_at)
            VALUES (\(bind: user.rawValue), \(bind: hash), \(bind: count), \(bind: store.clock.nowMillis))
            ON CONFLICT (user_id, token_hash) DO NOTHING
            """
        ).run()
        // Keep the five most recent tokens per account.
        try await sql.raw(
            """
            DELETE FROM discovery_tokens WHERE user_id = \(bind: user.rawValue) AND token_hash NOT IN (
                SELECT token_hash FROM discovery_tokens WHERE user_id = \(bind: user.rawValue) ORDER BY created_at DESC, token_hash LIMIT 5)
            """
        ).run()
    }

    func quotaLeft(_ user: UserID) async throws -> Int {
        let now = store.clock.nowSeconds
        let quota = self.quota
        return try await store.database.read { sql in
            guard
                let row = try await sql.raw(
                    "SELECT tokens, updated_at FROM rate_buckets WHERE bucket = \(bind: "discovery:" + user.rawValue)"
                ).first()
            else { return Int(quota.burst) }
            let tokens = try row.decode(column: "tokens", as: Double.self)
            let updated = try row.decode(column: "updated_at", as: Double.self)
            return Int(min(quota.burst, tokens + max(0, now - updated) * quota.perSecond))
        }
    }

    /// Deletes the uploader's contact edges (CON-06; also `deleteMyContacts`).
    public static func deleteEdges(of user: UserID, on sql: any SQLDatabase) async throws -> Int {
        let count =
            try await sql.raw("SELECT COUNT(*) AS n FROM contact_edges WHERE owner_id = \(bind: user.rawValue)")
            .first()?
            .decode(column: "n", as: Int.self) ?? 0
        try await sql.raw("DELETE FROM contact_edges WHERE owner_id = \(bind: user.rawValue)").run()
        try await sql.raw("DELETE FROM discovery_tokens WHERE user_id = \(bind: user.rawValue)").run()
        return count
    }
}

/// Non-users' "never match or contact this number" (CON-08, DSR-10): only the blind index is kept.
public struct NumberSuppressions: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    public static func isSuppressed(_ phoneIndex: String, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("SELECT phone_index FROM number_suppressions WHERE phone_index = \(bind: phoneIndex)").first()
            != nil
    }

    public func isSuppressed(_ phone: PhoneNumber) async throws -> Bool {
        let index = store.vault.blindIndex(phone)
        return try await store.database.read { sql in try await Self.isSuppressed(index, on: sql) }
    }
}
