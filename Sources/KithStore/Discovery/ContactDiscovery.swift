import Crypto
import Foundation
import KithCore
import SQLKit
import Synchronization

/// The in-process index of the blind-index prefixes of people who chose to be found by their number
/// (CON-05), caught up from the consent ledger before each match: a grant made on any node is seen on
/// the next upload. The store still confirms every candidate, so a withdrawal takes effect at once
/// even before the index forgets it.
///
/// Only discoverable people are in it: an uploaded number of someone who is registered but never chose
/// to be discoverable ends in memory exactly like a stranger's, without reaching a query.
///
/// Grants are followed by their processing-log sequence number (`consents.log_seq`), not by a clock:
/// the sequence is assigned under the log's single-writer lock, so grants commit in sequence order on
/// both stores and "everything after the newest one seen" misses nothing, whatever the nodes' clocks say.
public final class DiscoveryIndex: Sendable {
    private struct State {
        var index = PhonePrefixIndex()
        /// The newest `log_seq` of any consent seen; `nil` before the first load.
        var watermark: Int64?
    }

    private let state = Mutex(State())

    public init() {}

    public var bytesUsed: Int { state.withLock { $0.index.bytesUsed } }
    public var count: Int { state.withLock { $0.index.count } }

    /// Whether the first, full load has happened.
    public var isLoaded: Bool { state.withLock { $0.watermark != nil } }

    public func contains(_ prefix: UInt64) -> Bool { state.withLock { $0.index.contains(prefix) } }

    /// The elements whose prefix is in the index, probed under one lock.
    func filter<Element: Sendable>(_ elements: [Element], prefix: (Element) -> UInt64) -> [Element] {
        state.withLock { state in elements.filter { state.index.contains(prefix($0)) } }
    }

    /// Forgets the prefix of an erased person's blind index (DSR-04). Another discoverable person with the
    /// same 64-bit prefix is still matched: every candidate is confirmed against the store's full index
    /// (the chance of such a collision among 10 million people is about one in 300 billion).
    public func forget(phoneIndex: String) {
        guard let prefix = PhonePrefixIndex.prefix(hex: phoneIndex) else { return }
        state.withLock { $0.index.remove([prefix]) }
    }

    /// Loads the grants made since the last catch-up, reading from `database` (the first, full load).
    public func catchUp(on database: KithDatabase) async throws {
        try await database.scan { sql in try await self.catchUp(on: sql) }
    }

    /// Loads the `discoverable-by-phone` grants made since the last catch-up, on the caller's connection.
    ///
    /// After the first load this reads the consents (of any purpose) logged after the newest one seen:
    /// one range of the `log_seq` index, usually empty, so the watermark moves with every grant.
    func catchUp(on sql: any SQLDatabase) async throws {
        let purpose = PurposeID.discoverableByPhone.rawValue
        let since = state.withLock { $0.watermark }
        var newest: Int64
        if let since {
            newest = since
        } else {
            // The newest first, then every grant: one committed in between is read twice, never missed.
            newest =
                try await sql.raw("SELECT MAX(log_seq) AS newest FROM consents").first()?
                .decode(column: "newest", as: Int64?.self) ?? 0
        }
        let query = Self.catchUpQuery(since: since)
        // Rows are streamed into prefixes: the first load reads every grant, and millions of 64-character
        // strings would need gigabytes at once. Withdrawn grants add no prefix.
        let loaded = Mutex<(prefixes: [UInt64], newest: Int64)>(([], newest))
        try await sql.raw(query).run { row in
            let seq = (try? row.decode(column: "log_seq", as: Int64?.self)) ?? nil
            let active =
                (try? row.decode(column: "purpose", as: String.self)) == purpose
                && ((try? row.decode(column: "withdrawn_at", as: Int64?.self)) ?? nil) == nil
            let prefix =
                active
                ? (try? row.decode(column: "phone_index", as: String.self)).flatMap(PhonePrefixIndex.prefix(hex:))
                : nil
            loaded.withLock { loaded in
                if let prefix { loaded.prefixes.append(prefix) }
                if let seq { loaded.newest = max(loaded.newest, seq) }
            }
        }
        let (prefixes, seen) = loaded.withLock { ($0.prefixes, $0.newest) }
        newest = seen
        state.withLock { state in
            if state.watermark == nil, prefixes.count > 4096 {
                state.index = PhonePrefixIndex(prefixes: prefixes)
            } else {
                for prefix in prefixes { state.index.insert(prefix) }
            }
            state.watermark = max(state.watermark ?? newest, newest)
        }
    }

    /// The rows a catch-up reads: after the first load (`since` the watermark), the consents of any purpose
    /// logged after it and the discoverable people whose number changed after it (DSR-03: the changed
    /// number's entry is in the same log, so one watermark covers both); before it, every grant.
    ///
    /// Each branch starts from its `log_seq` / `phone_seq` range, usually empty. The number-change branch
    /// is written `users CROSS JOIN consents` because SQLite joins in that order exactly when told so: left
    /// to its planner, it scanned every grant and looked up each person (1.1 s per upload with 10M users
    /// and 1M grants). PostgreSQL reads the CROSS JOIN with a WHERE as the same inner join.
    static func catchUpQuery(since: Int64?) -> SQLQueryString {
        let purpose = PurposeID.discoverableByPhone.rawValue
        guard let since else {
            return """
                SELECT consents.purpose AS purpose, consents.log_seq AS log_seq, consents.withdrawn_at AS withdrawn_at,
                    users.phone_index AS phone_index
                FROM consents JOIN users ON users.id = consents.user_id
                WHERE consents.purpose = \(bind: purpose)
                """
        }
        return """
            SELECT consents.purpose AS purpose, consents.log_seq AS log_seq, consents.withdrawn_at AS withdrawn_at,
                users.phone_index AS phone_index
            FROM consents JOIN users ON users.id = consents.user_id
            WHERE consents.log_seq > \(bind: since)
            UNION ALL
            SELECT consents.purpose AS purpose, users.phone_seq AS log_seq, consents.withdrawn_at AS withdrawn_at,
                users.phone_index AS phone_index
            FROM users CROSS JOIN consents
            WHERE users.phone_seq > \(bind: since) AND consents.user_id = users.id AND consents.purpose = \(bind: purpose)
            """
    }
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
    public let index: DiscoveryIndex
    public var quota: RateLimit

    /// - Parameter quota: new numbers per account: a burst of 2,000, then 100 a day (CON-07).
    public init(store: KithStore, index: DiscoveryIndex, quota: RateLimit = .perDay(100, burst: 2000)) {
        self.store = store
        self.index = index
        self.quota = quota
    }

    /// Matches an upload.
    ///
    /// Numbers are parsed and blind-indexed in memory first. Then one transaction checks the consent,
    /// the recheck token and the quota, catches the prefix index up, confirms the candidates, keeps the
    /// edges and the token, and logs the upload with the accounts it found: one commit per upload.
    ///
    /// - Parameters:
    ///   - numbers: numbers not checked before; each costs quota.
    ///   - previousNumbers: numbers checked before, proven by `recheckToken`; free.
    /// - Throws: `consent-required` without the uploader's `contact-discovery` consent (CON-01);
    ///   `invalid-field` for a token that does not prove `previousNumbers`; `rate-limited` when the new
    ///   numbers exceed the quota (CON-07). Checked in that order; nothing is kept when one fails.
    public func match(
        uploader: UserID,
        numbers: [String],
        previousNumbers: [String],
        recheckToken: String?,
        region: PhoneNumber.Region,
        initiation: Initiation
    ) async throws -> ContactMatchResult {
        let act = ProcessingAct.own(.contactDiscovery, by: uploader, initiation: initiation, detail: "contact upload")
        // Catching the prefix index up reads the store while the numbers are parsed and indexed. (The first
        // load reads every discoverable person's grant, on the read connection.)
        async let caughtUp: Void = index.catchUp(on: store.database)
        let (entries, invalid) = parse(numbers: numbers, previousNumbers: previousNumbers, region: region)
        var previousSet = Set<BlindIndex>(minimumCapacity: previousNumbers.count)
        var fullSet = Set<BlindIndex>(minimumCapacity: entries.count)
        for entry in entries {
            if entry.source == .previousNumbers { previousSet.insert(entry.blind) }
            fullSet.insert(entry.blind)
        }
        let newCount = fullSet.count - previousSet.count
        let setSize = fullSet.count
        let needsToken = !previousSet.isEmpty || recheckToken != nil
        let presentedToken = recheckToken.flatMap {
            constantTimeEqual($0, token(for: previousSet, user: uploader)) ? $0 : nil
        }
        let newToken = token(for: fullSet, user: uploader)
        // The first load reads every grant: do it on the read connection, not inside the write.
        try await caughtUp

        let result: (matches: [ContactMatch], remaining: Int)
        do {
            result = try await matchInTransaction(
                act,
                entries: entries,
                needsToken: needsToken,
                presentedToken: presentedToken,
                newToken: newToken,
                newCount: newCount,
                setSize: setSize,
                uploader: uploader,
                initiation: initiation
            )
        } catch let error as KithError where error.code == .rateLimited {
            // Over the quota of new numbers (CON-07): a logged security event about the uploader.
            await RateLimiter.logRefusal("discovery:", about: uploader, initiation: initiation, store: store)
            throw error
        }
        return ContactMatchResult(
            matches: result.matches,
            invalid: invalid,
            recheckToken: newToken,
            quotaRemaining: result.remaining
        )
    }

    /// The transaction of ``match(uploader:numbers:previousNumbers:recheckToken:region:initiation:)``.
    private func matchInTransaction(
        _ act: ProcessingAct,
        entries: [Entry],
        needsToken: Bool,
        presentedToken: String?,
        newToken: String,
        newCount: Int,
        setSize: Int,
        uploader: UserID,
        initiation: Initiation
    ) async throws -> (matches: [ContactMatch], remaining: Int) {
        let store = self.store
        let index = self.index
        let quota = self.quota
        let (result, _) = try await store.gate.perform(act) {
            sql -> ((matches: [ContactMatch], remaining: Int), detail: String?, related: [LoggedAct]) in
            if needsToken {
                guard let presentedToken, try await Self.isRemembered(presentedToken, for: uploader, on: sql) else {
                    throw KithError.invalid(
                        "recheckToken",
                        "The token does not prove these previous numbers; upload them as new numbers."
                    )
                }
            }
            let remaining: Int
            if newCount > 0 {
                let left = try await RateLimiter.take(
                    "discovery:" + uploader.rawValue,
                    limit: quota,
                    cost: Double(newCount),
                    store: store,
                    on: sql
                )
                remaining = Int(min(quota.burst, left))
            } else {
                remaining = try await Self.quotaLeft(uploader, quota: quota, store: store, on: sql)
            }

            let candidates = index.filter(entries) { $0.blind.prefix }
            let accounts = try await Self.discoverableAccounts(
                Array(Set(candidates.map(\.blind))),
                excluding: uploader,
                store: store,
                on: sql
            )
            var matches: [ContactMatch] = []
            var matchedUsers: [UserID: String] = [:]
            for entry in candidates {
                guard let account = accounts[entry.blind] else { continue }
                matches.append(ContactMatch(source: entry.source, index: entry.index, userId: account.user.rawValue))
                matchedUsers[account.user] = account.consentID
            }
            let found = matchedUsers.sorted { $0.key.rawValue < $1.key.rawValue }
            if !found.isEmpty {
                let now = store.clock.nowMillis
                let insert = sql.insert(into: "contact_edges").columns("owner_id", "contact_id", "created_at")
                for (user, _) in found {
                    insert.values(SQLBind(uploader.rawValue), SQLBind(user.rawValue), SQLBind(now))
                }
                try await insert.ignoringConflicts(with: ["owner_id", "contact_id"]).run()
            }
            let related = found.map { user, consentID in
                LoggedAct(
                    ProcessingAct(
                        purpose: .discoverableByPhone,
                        actor: .user(uploader),
                        subject: user,
                        initiation: initiation,
                        detail: "found by a contact upload"
                    ),
                    basisRef: "consent:\(consentID)"
                )
            }
            // A re-check of the same set hands back the token the store already keeps.
            if newToken != presentedToken {
                try await Self.remember(token: newToken, count: setSize, for: uploader, store: store, on: sql)
            }
            return (
                (matches, remaining),
                detail: "\(setSize) numbers matched \(found.count) accounts",
                related: related
            )
        }
        return result
    }

    typealias Entry = (source: ContactMatch.Source, index: Int, blind: BlindIndex)

    /// Normalises and blind-indexes the uploaded entries in memory; entries that are not numbers are
    /// reported by position and reason only.
    func parse(numbers: [String], previousNumbers: [String], region: PhoneNumber.Region) -> ([Entry], [InvalidEntry]) {
        var invalid: [InvalidEntry] = []
        var entries: [Entry] = []
        entries.reserveCapacity(numbers.count + previousNumbers.count)
        // One keyed hasher state per request, copied per number: the key schedule runs once.
        let indexer = store.vault.blindIndexer()
        for (source, list) in [(ContactMatch.Source.previousNumbers, previousNumbers), (.numbers, numbers)] {
            for (position, text) in list.enumerated() {
                // A number that cannot be an account's (invalid, or no text message reaches it) is dropped
                // here like a number of no one's: it leaves no trace (CON-03).
                switch PhoneNumber.parseMobile(text, defaultRegion: region) {
                case .success(let phone): entries.append((source, position, indexer.index(phone)))
                case .failure(let reason): invalid.append(InvalidEntry(source: source, index: position, reason: reason))
                }
            }
        }
        return (entries, invalid)
    }

    /// The matching core alone, for the discovery benchmark: normalise, blind-index, probe the prefix
    /// index, confirm the hits in the store — after the same consent check as ``match(uploader:numbers:previousNumbers:recheckToken:region:initiation:)``
    /// (CON-01). Keeps nothing and logs nothing, and answers only how many accounts were found, so it
    /// discloses nobody: the benchmark times the part that grows with the number of users.
    public func countMatches(uploader: UserID, numbers: [String], region: PhoneNumber.Region) async throws -> Int {
        let (entries, _) = parse(numbers: numbers, previousNumbers: [], region: region)
        let candidates = Array(Set(index.filter(entries) { $0.blind.prefix }.map(\.blind)))
        let store = self.store
        let act = ProcessingAct.own(
            .contactDiscovery,
            by: uploader,
            initiation: Initiation(kind: .operatorCommand, action: "bench"),
            detail: "benchmark match"
        )
        return try await store.database.read { sql in
            _ = try await ProcessingGate.basis(for: act, store: store, on: sql)
            return try await Self.discoverableAccounts(candidates, excluding: uploader, store: store, on: sql).count
        }
    }

    /// An account that may be found, with the consent it may be found under.
    struct DiscoverableAccount: Sendable {
        var user: UserID
        /// The current `discoverable-by-phone` consent (the one ``ConsentLedger/current(_:of:on:)`` returns).
        var consentID: String
        var grantedAt: Int64
    }

    /// The accounts behind full blind indexes that may be found: discoverable now (CON-05), not
    /// suppressed (CON-08), not the uploader. One query per 500 indexes.
    static func discoverableAccounts(
        _ indexes: [BlindIndex],
        excluding uploader: UserID,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws -> [BlindIndex: DiscoverableAccount] {
        guard !indexes.isEmpty else { return [:] }
        var found: [BlindIndex: DiscoverableAccount] = [:]
        for chunk in stride(from: 0, to: indexes.count, by: 500) {
            var byHex: [String: BlindIndex] = [:]
            for index in indexes[chunk..<min(chunk + 500, indexes.count)] { byHex[index.hexString] = index }
            // CON-05: only accounts whose "let people who have my number find me" consent is current.
            // CON-08: a suppressed number never matches. No ORDER BY: with one, SQLite's planner may start from
            // the consents to avoid a sort; the rows are few and ordered here.
            let rows = try await sql.raw(
                """
                SELECT users.id AS user_id, users.phone_index AS phone_index, consents.id AS consent_id,
                    consents.notice_version AS notice_version, consents.granted_at AS granted_at
                FROM users JOIN consents ON consents.user_id = users.id
                WHERE users.phone_index IN (\(binds: Array(byHex.keys)))
                    AND consents.purpose = \(bind: PurposeID.discoverableByPhone.rawValue)
                    AND consents.withdrawn_at IS NULL
                    AND NOT EXISTS (
                        SELECT 1 FROM number_suppressions WHERE number_suppressions.phone_index = users.phone_index)
                """
            ).all()
            for row in rows {
                let user = UserID(rawValue: try row.decode(column: "user_id", as: String.self))
                let version = try row.decode(column: "notice_version", as: Int.self)
                guard user != uploader,
                    store.catalogue.consentIsCurrent(for: .discoverableByPhone, givenUnder: version),
                    let index = byHex[try row.decode(column: "phone_index", as: String.self)]
                else { continue }
                let account = DiscoverableAccount(
                    user: user,
                    consentID: try row.decode(column: "consent_id", as: String.self),
                    grantedAt: try row.decode(column: "granted_at", as: Int64.self)
                )
                // The last current record in the ledger's order is the one ConsentLedger.current names.
                if let known = found[index], (known.grantedAt, known.consentID) > (account.grantedAt, account.consentID)
                {
                    continue
                }
                found[index] = account
            }
        }
        return found
    }

    /// The recheck token of a set of numbers: a keyed digest over their sorted blind indexes. The store
    /// keeps only its SHA-256 and the set's size (Signal's approach).
    func token(for set: Set<BlindIndex>, user: UserID) -> String {
        var mac = HMAC<SHA256>(key: store.vault.keys.blindIndex)
        mac.update(data: Array("kith-recheck-v1|\(user.rawValue)|".utf8))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(set.count * 32)
        for blind in set.sorted() { blind.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        mac.update(data: bytes)
        return Data(mac.finalize()).base64URLString
    }

    /// Whether the store remembers handing out `token` to `user` (one of their five latest).
    static func isRemembered(_ token: String, for user: UserID, on sql: any SQLDatabase) async throws -> Bool {
        let hash = SHA256.hash(data: Array(token.utf8)).hexString
        return try await sql.raw(
            "SELECT number_count FROM discovery_tokens WHERE user_id = \(bind: user.rawValue) AND token_hash = \(bind: hash)"
        ).first() != nil
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

    /// New numbers `user` may still check now (CON-07).
    static func quotaLeft(
        _ user: UserID,
        quota: RateLimit,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws
        -> Int
    {
        let now = store.clock.nowSeconds
        guard
            let row = try await sql.raw(
                "SELECT tokens, updated_at FROM rate_buckets WHERE bucket = \(bind: "discovery:" + user.rawValue)"
            ).first()
        else { return Int(quota.burst) }
        let tokens = try row.decode(column: "tokens", as: Double.self)
        let updated = try row.decode(column: "updated_at", as: Double.self)
        return Int(min(quota.burst, tokens + max(0, now - updated) * quota.perSecond))
    }

    /// Deletes the person's uploaded contacts at their request (`deleteMyContacts`, CON-06), whether or
    /// not the consent is still given: the gate logs it as an erasure.
    ///
    /// - Returns: how many contact edges were deleted.
    public func deleteContacts(of user: UserID, initiation: Initiation) async throws -> Int {
        let act = ProcessingAct(
            purpose: .contactDiscovery,
            actor: .user(user),
            subject: user,
            initiation: initiation,
            detail: "contact edges deleted",
            effect: .erasure
        )
        return try await store.gate.perform(act) { sql in
            let deleted = try await Self.deleteEdges(of: user, on: sql)
            return (deleted, detail: "\(deleted) contact edges deleted")
        }.0
    }

    /// Deletes the uploader's contact edges (CON-06) in the caller's transaction.
    static func deleteEdges(of user: UserID, on sql: any SQLDatabase) async throws -> Int {
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

    static func isSuppressed(_ phoneIndex: String, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("SELECT phone_index FROM number_suppressions WHERE phone_index = \(bind: phoneIndex)").first()
            != nil
    }

    /// Adds a number's keyed index to the suppression list, under the log entry that honours the request;
    /// a number already on it stays as it was.
    static func suppress(_ phoneIndex: String, evidence: String, now: Int64, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO number_suppressions (phone_index, created_at, evidence) VALUES (\(bind: phoneIndex), \(bind: now), \(bind: evidence))
            ON CONFLICT DO NOTHING
            """
        ).run()
    }

    /// Suppresses a number at its holder's request that needs no code (a STOP reply, an invitation's
    /// link), in one transaction with the anonymous act that honours it (CON-08); the entry names no one.
    static func suppress(
        _ phoneIndex: String,
        detail: String,
        initiation: Initiation,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws {
        let act = ProcessingAct(
            purpose: .numberSuppression,
            actor: .anonymous,
            subject: nil,
            initiation: initiation,
            detail: detail
        )
        let entry = try await ProcessingGate.record([act], store: store, on: sql)[0]
        try await suppress(phoneIndex, evidence: entry.reference, now: store.clock.nowMillis, on: sql)
    }

    public func isSuppressed(_ phone: PhoneNumber) async throws -> Bool {
        let index = store.vault.blindIndex(phone)
        return try await store.database.read { sql in try await Self.isSuppressed(index, on: sql) }
    }

    /// What the holder of a number asks with a verified opt-out code.
    public enum Request: String, Codable, Sendable {
        /// Never match or contact this number again.
        case suppress
        /// Only say what Kith holds about the number.
        case inquire
    }

    /// What Kith holds about a number, answered to the person who proved they hold it (DSR-10).
    public struct Holdings: Codable, Sendable {
        public var action: String
        public var suppressed: Bool
        public var registeredAccount: Bool
        /// Everything Kith holds about the number, by category.
        public var held: [String]
    }

    /// Redeems a number-opt-out code and carries out the holder's request in the same transaction,
    /// logged under the duty to honour it (CON-08, DSR-10). The entry names no one: the holder is not
    /// a user, and a registered holder's account is not looked up for the log.
    public func confirm(
        verificationId: String,
        code: String,
        request: Request,
        accounts: PhoneAccounts,
        initiation: Initiation
    ) async throws -> Holdings {
        let store = self.store
        return try await accounts.redeem(id: verificationId, code: code, kind: .numberOptOut, initiation: initiation) {
            sql,
            phoneIndex,
            _,
            _,
            now in
            let registered =
                try await sql.raw("SELECT id FROM users WHERE phone_index = \(bind: phoneIndex)").first() != nil
            var suppressed = try await Self.isSuppressed(phoneIndex, on: sql)
            let act = ProcessingAct(
                purpose: .numberSuppression,
                actor: .anonymous,
                subject: nil,
                initiation: initiation,
                detail: request == .suppress ? "number suppressed" : "holdings inquiry answered"
            )
            let entry = try await ProcessingGate.record([act], store: store, on: sql)[0]
            if request == .suppress, !suppressed {
                try await Self.suppress(phoneIndex, evidence: entry.reference, now: now, on: sql)
                suppressed = true
            }
            var held: [String] = []
            if suppressed { held.append("suppression-entry: a keyed index of the number, nothing else") }
            if registered {
                held.append("account: this number belongs to a Kith account; its holder can see everything in the app")
            }
            return Holdings(action: request.rawValue, suppressed: suppressed, registeredAccount: registered, held: held)
        }
    }
}
