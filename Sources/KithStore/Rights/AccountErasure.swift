import Foundation
import KithCore
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// Personal information held in memory that forgets a person when their account is erased (DSR-04):
/// each holder the data inventory lists conforms, and every node's holders hear of every erasure through
/// ``ErasureNoticeFeed``.
public protocol ForgetsErasedPeople: Sendable {
    /// The holder's name in the data inventory (`GraphReplica`), for erasure receipts.
    var holderName: String { get }
    /// Forgets `user`; `phoneIndex` is the blind index of the number the account had.
    func forget(erased user: UserID, phoneIndex: String)
    /// Whether the holder still holds anything of `user` (the erasure scan asks, DSR-04).
    func holds(_ user: UserID, phoneIndex: String) -> Bool
}

extension GraphReplica: ForgetsErasedPeople {
    public var holderName: String { "GraphReplica" }
    public func forget(erased user: UserID, phoneIndex: String) { forget(user) }
    public func holds(_ user: UserID, phoneIndex: String) -> Bool { existingNode(for: user) != nil }
}

extension DiscoveryIndex: ForgetsErasedPeople {
    public var holderName: String { "DiscoveryIndex" }
    public func forget(erased user: UserID, phoneIndex: String) { forget(phoneIndex: phoneIndex) }
    public func holds(_ user: UserID, phoneIndex: String) -> Bool {
        PhonePrefixIndex.prefix(hex: phoneIndex).map(contains) ?? false
    }
}

extension ReadThrottle: ForgetsErasedPeople {
    public var holderName: String { "ReadThrottle" }
    public func forget(erased user: UserID, phoneIndex: String) { forget(user) }
}

extension SessionCache: ForgetsErasedPeople {
    var holderName: String { "SessionCache" }
    func forget(erased user: UserID, phoneIndex: String) { forget(user: user) }
    func holds(_ user: UserID, phoneIndex: String) -> Bool { holds(user: user) }
}

/// Where an account deletion stands (`getAccountDeletionStatus`).
public struct AccountDeletion: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Asked for; the account is deactivated and is erased at ``eraseAfter``.
        case scheduled
        /// Erased: the row names no one any more.
        case erased
    }

    public var id: String
    public var state: State
    public var requestedAt: Int64
    public var eraseAfter: Int64
    public var erasedAt: Int64?
    /// Rows erased, per table of the data inventory, once erased.
    public var erasedRows: [String: Int]
    /// What the scan right after the erasure checked and found, signed (DSR-04).
    public var receipt: ErasureReceipt?
}

/// What an erasure did: the blind index of the account's number (for the holders to forget; empty when the
/// number opened another account since), the rows erased per table, and every form of the person (for the scan).
struct ErasedAccount: Sendable {
    var phoneIndex: String
    var rows: [String: Int]
    var forms: [ErasureScan.Form]
}

/// What `account_deletions.summary` holds once the account is erased: counts and the signed receipt.
struct DeletionSummary: Codable {
    var rows: [String: Int]
    var receipt: ErasureReceipt?
}

/// Account deletion and erasure (DSR-04, ACC-10): the person asks in the app with a code sent to their own
/// number, nothing more; the account is deactivated at once and erased when the grace period of
/// ``DeletionPolicy`` ends (at once by default).
///
/// Erasure walks the data inventory rather than a list of tables: every table with a subject column is
/// emptied of the person's rows by its erase rule — other people's contact edges and suggestion rows that
/// point at them included, and the keys of rate buckets that name them — the person's log key is
/// destroyed so their entries stay in the chain but link to no one, and every node's in-memory holders
/// forget them (``ForgetsErasedPeople``). A capability that declares its table in the inventory is erased
/// without changing this type.
public struct AccountErasure: Sendable {
    let accounts: PhoneAccounts
    public let policy: DeletionPolicy
    let inventory: DataInventory
    let holders: [any ForgetsErasedPeople]

    var store: KithStore { accounts.store }

    /// - Parameter holders: this node's in-memory holders besides the store's own session cache.
    public init(
        accounts: PhoneAccounts,
        policy: DeletionPolicy = DeletionPolicy(),
        inventory: DataInventory = .kith,
        holders: [any ForgetsErasedPeople]
    ) {
        self.accounts = accounts
        self.policy = policy
        self.inventory = inventory
        self.holders = holders + [accounts.store.sessions]
    }

    /// Sends a deletion code to the account's own number: the identity check asks for nothing Kith
    /// did not already collect (ACC-10).
    public func startDeletion(
        of user: UserID,
        requester: CodeRequester,
        initiation: Initiation
    ) async throws -> PendingVerification {
        guard let (phone, _, _) = try await accounts.phoneNumber(of: user) else { throw KithError.noSuchPerson }
        return try await accounts.startVerification(
            phone: phone,
            kind: .accountDeletion,
            for: user,
            requester: requester,
            initiation: initiation
        )
    }

    /// Deletes the signed-in person's account once the code sent to its number is right: logged, and
    /// in the same transaction erased (no grace period) or deactivated until ``DeletionPolicy`` says.
    /// A second request while one is scheduled answers the scheduled one.
    ///
    /// - Throws: `verification-failed` for a wrong, expired or someone else's code.
    public func delete(
        _ user: UserID,
        verificationId: String,
        code: String,
        initiation: Initiation
    ) async throws -> AccountDeletion {
        let store = self.store
        let policy = self.policy
        let inventory = self.inventory
        let outcome = try await accounts.redeem(
            id: verificationId,
            code: code,
            kind: .accountDeletion,
            initiation: initiation
        ) { sql, _, _, owner, now in
            guard owner == user.rawValue else {
                throw KithError(
                    .verificationFailed,
                    field: "verificationId",
                    detail: "This verification has expired or was already used. Request a new code."
                )
            }
            if let scheduled = try await Self.deletion(ofUser: user, on: sql) {
                return (scheduled, nil as ErasedAccount?)
            }
            let id = "del_" + Random.token(16)
            let eraseAfter = policy.eraseAfter(requestedAt: now)
            let act = ProcessingAct.own(
                .account,
                by: user,
                initiation: initiation,
                detail: policy.graceWorkingDays == 0
                    ? "account deletion asked for; erased at once"
                    : "account deletion asked for; deactivated, erased after \(policy.graceWorkingDays) working days"
            )
            try await ProcessingGate.record([act], store: store, on: sql)
            try await sql.raw(
                """
                INSERT INTO account_deletions (id, user_id, requested_at, erase_after)
                VALUES (\(bind: id), \(bind: user.rawValue), \(bind: now), \(bind: eraseAfter))
                """
            ).run()
            if eraseAfter <= now {
                let erased = try await Self.erase(
                    user,
                    deletion: id,
                    initiation: initiation,
                    inventory: inventory,
                    store: store,
                    on: sql
                )
                return (try await Self.deletion(id: id, on: sql)!, erased)
            }
            try await Self.deactivate(user, store: store, on: sql)
            return (try await Self.deletion(id: id, on: sql)!, nil)
        }
        // After the commit, like a sign-out: forgetting earlier would let a concurrent read bring it back.
        store.sessions.forget(user: user)
        var deletion = outcome.0
        // The erasure is committed: a scan that fails leaves the deletion without its receipt, never a 500
        // that would hide the deletion's ID from the person (verifyErasure can be asked later).
        if let erased = outcome.1 {
            deletion.receipt = try? await receipt(after: erased, of: user, deletion: deletion.id)
            if deletion.receipt == nil { forgetHere(user, phoneIndex: erased.phoneIndex) }
        }
        return deletion
    }

    /// After an erasure's commit: this node's holders forget the person, the scan checks every table and
    /// holder, and its signed receipt is kept with the deletion (when there is one).
    private func receipt(
        after erased: ErasedAccount,
        of user: UserID,
        deletion id: String?
    ) async throws -> ErasureReceipt {
        forgetHere(user, phoneIndex: erased.phoneIndex)
        let receipt = try await ErasureScan(store: store, inventory: inventory).receipt(
            for: erased.forms,
            user: user,
            phoneIndex: erased.phoneIndex,
            holders: holders,
            deletion: id
        )
        if let id {
            let summary = String(
                decoding: try JSONEncoder.sorted.encode(DeletionSummary(rows: erased.rows, receipt: receipt)),
                as: UTF8.self
            )
            try await store.database.transaction { sql in
                try await sql.raw("UPDATE account_deletions SET summary = \(bind: summary) WHERE id = \(bind: id)")
                    .run()
            }
        }
        return receipt
    }

    /// A deletion's status by its ID: the ID was handed to the person who asked, and the row names no one
    /// once the account is erased.
    public func status(_ id: String) async throws -> AccountDeletion? {
        try await store.database.read { sql in try await Self.deletion(id: id, on: sql) }
    }

    /// Erases the accounts whose grace period has ended and the frozen accounts past their retention
    /// (ACC-12): the retention sweeper's step for accounts.
    /// - Returns: how many accounts were erased.
    @discardableResult
    public func eraseDue(
        initiation: Initiation = Initiation(kind: .system, action: "retentionSweep")
    ) async throws -> Int {
        let now = store.clock.nowMillis
        let frozenBefore = now - Int64(policy.frozenRetentionDays) * 86_400_000
        let due = try await store.database.read { sql in
            let scheduled = try await sql.raw(
                "SELECT id, user_id FROM account_deletions WHERE erased_at IS NULL AND erase_after <= \(bind: now) AND user_id IS NOT NULL"
            ).all().map {
                (
                    UserID(rawValue: try $0.decode(column: "user_id", as: String.self)),
                    try $0.decode(column: "id", as: String?.self)
                )
            }
            let frozen = try await sql.raw("SELECT id FROM users WHERE frozen_at < \(bind: frozenBefore)").all().map {
                (UserID(rawValue: try $0.decode(column: "id", as: String.self)), nil as String?)
            }
            return scheduled + frozen
        }
        var count = 0
        for (user, deletion) in due {
            let store = self.store
            let inventory = self.inventory
            // One account that fails to erase does not stop the others (it is due again at the next sweep).
            guard
                let erased = try? await store.database.transaction({ sql in
                    try await Self.erase(
                        user,
                        deletion: deletion,
                        initiation: initiation,
                        inventory: inventory,
                        store: store,
                        on: sql
                    )
                })
            else { continue }
            if (try? await receipt(after: erased, of: user, deletion: deletion)) == nil {
                forgetHere(user, phoneIndex: erased.phoneIndex)
            }
            count += 1
        }
        return count
    }

    /// Proof of erasure on demand (`verifyErasure`, `kith erase-verify`): scans every table, this node's
    /// in-memory holders, the SQLite file after its checkpoint and `files` for every form of `user` and
    /// `phone`, and returns the signed receipt. Logged as the operator's act, naming no one.
    public func verify(
        _ user: UserID,
        phone: PhoneNumber,
        files extra: [(label: String, path: String)] = [],
        by operatorName: String,
        initiation: Initiation
    ) async throws -> ErasureReceipt {
        let store = self.store
        let pseudonym = try await store.database.read { sql in
            try await SubjectKeys(store: store).pseudonym(of: user, on: sql)
        }
        let scan = ErasureScan(store: store, inventory: inventory)
        // After an erasure the key is gone and the pseudonym with it: nothing is left to look for there.
        let forms = scan.forms(of: user, phone: phone, pseudonym: pseudonym == "erased" ? nil : pseudonym)
        try await store.database.checkpointForScan()
        var files = extra
        if let path = store.database.path { files = [("SQLite file", path), ("SQLite WAL", path + "-wal")] + files }
        let receipt = try await scan.receipt(
            for: forms,
            user: user,
            phoneIndex: store.vault.blindIndex(phone),
            holders: holders,
            files: files,
            deletion: nil
        )
        let unkept = receipt.hits.filter { !$0.kept }.count
        try await store.gate.record(
            ProcessingAct(
                purpose: .securityLog,
                actor: .operator(operatorName),
                subject: nil,
                initiation: initiation,
                detail: receipt.clean
                    ? "erasure verified by an operator: nothing found"
                    : "erasure verified by an operator: found in \(unkept) places"
            )
        )
        return receipt
    }

    private func forgetHere(_ user: UserID, phoneIndex: String) {
        for holder in holders { holder.forget(erased: user, phoneIndex: phoneIndex) }
    }

    /// Deactivates an account until its erasure: every session ends, its number no longer leads to it
    /// (no sign-in, no match, no message) and it is suggested to no one.
    static func deactivate(_ user: UserID, store: KithStore, on sql: any SQLDatabase) async throws {
        _ = try await SessionCache.endAll(of: user, store: store, on: sql)
        try await sql.raw(
            "UPDATE users SET phone_index = \(bind: "deleting:" + user.rawValue) WHERE id = \(bind: user.rawValue)"
        ).run()
        try await sql.raw("UPDATE profiles SET suggestable = 0 WHERE user_id = \(bind: user.rawValue)").run()
        try await GraphReplica.recordChange(user, nil, at: store.clock.nowMillis, on: sql)
    }

    /// Erases `user` in the caller's transaction by the inventory's rules, logs it with counts only, and
    /// leaves the encrypted notice the other nodes forget the person by.
    ///
    /// - Returns: the blind index of the account's number and the rows erased per table, or `nil` when there
    ///   was no such account.
    static func erase(
        _ user: UserID,
        deletion: String?,
        initiation: Initiation,
        inventory: DataInventory,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws -> ErasedAccount? {
        // Claimed by deleting the account's row first: a second erasure of the same account (another node's
        // sweep) waits for this one and then finds nothing to erase.
        guard
            let cipher = try await sql.raw(
                "DELETE FROM users WHERE id = \(bind: user.rawValue) RETURNING phone_cipher"
            ).first()?.decode(column: "phone_cipher", as: String.self)
        else { return nil }
        var counts: [String: Int] = ["users": 1]
        let phone = try store.vault.decryptPhone(cipher)
        // The number's own index, whatever the account's row says now (frozen, deactivated) — unless the
        // number has since opened another account: then what is keyed by it is the new holder's, not this
        // person's, and stays.
        let index = store.vault.blindIndex(phone)
        let reassigned =
            try await sql.raw("SELECT 1 AS one FROM users WHERE phone_index = \(bind: index)").first() != nil
        let phoneIndex = reassigned ? nil : index
        // Every form of the person, the pseudonym read while its key exists: what the receipt's scan looks for.
        let forms = ErasureScan(store: store, inventory: inventory).forms(
            of: user,
            phone: phone,
            pseudonym: try await SubjectKeys(store: store).pseudonym(of: user, on: sql)
        ).filter { phoneIndex != nil || !$0.name.hasPrefix("number") }
        // Sessions end as a sign-out ends them, so every node's cache drops them within a second.
        let sessions = try await SessionCache.endAll(of: user, store: store, on: sql)
        if sessions > 0 { counts["sessions"] = sessions }
        for table in inventory.tables {
            for (column, value) in try keys(of: table, user: user, phoneIndex: phoneIndex, vault: store.vault) {
                let rows: Int
                if table.erase == .anonymise {
                    rows = try await sql.raw(
                        "UPDATE \(ident: table.name) SET \(ident: column) = NULL WHERE \(ident: column) = \(bind: value) RETURNING 1 AS one"
                    ).all().count
                } else {
                    rows = try await sql.raw(
                        "DELETE FROM \(ident: table.name) WHERE \(ident: column) = \(bind: value) RETURNING 1 AS one"
                    ).all().count
                }
                if rows > 0 { counts[table.name, default: 0] += rows }
            }
        }
        let total = counts.values.reduce(0, +)
        let act = ProcessingAct(
            purpose: .account,
            actor: .system,
            subject: nil,
            initiation: initiation,
            detail: "account erased: \(total) rows in \(counts.count) tables, its log key destroyed",
            evidence: deletion.map { ["deletion": $0] },
            effect: .erasure
        )
        try await ProcessingGate.record([act], store: store, on: sql)
        if let deletion {
            let summary = String(decoding: try JSONEncoder.sorted.encode(DeletionSummary(rows: counts)), as: UTF8.self)
            try await sql.raw(
                "UPDATE account_deletions SET erased_at = \(bind: store.clock.nowMillis), summary = \(bind: summary) WHERE id = \(bind: deletion)"
            ).run()
        }
        try await ErasureNoticeFeed.record(user, phoneIndex: phoneIndex ?? "", store: store, on: sql)
        return ErasedAccount(phoneIndex: phoneIndex ?? "", rows: counts, forms: forms)
    }

    /// The (column, value) pairs that name `user` in `table`, by the table's erase rule and subject
    /// columns: the person's ID, their number's blind index, or keys built from either.
    static func keys(
        of table: InventoryTable,
        user: UserID,
        phoneIndex: String?,
        vault: PhoneVault
    ) throws -> [(String, String)] {
        switch table.erase {
        case .deleteRows, .destroySubjectKey, .anonymise: break
        case .keepAsLegalEvidence, .keepAsObjection, .nothingToErase: return []
        }
        var pairs: [(String, String)] = []
        for subject in table.subjects {
            let patterns = table.column(subject.column)?.keyPatterns ?? []
            if !patterns.isEmpty {
                for pattern in patterns {
                    switch pattern.identity {
                    case .userID: pairs.append((subject.column, pattern.prefix + user.rawValue))
                    case .keyedUserID(let context):
                        pairs.append((subject.column, pattern.prefix + vault.keyedDigest(context, user.rawValue)))
                    case .phoneIndex:
                        if let phoneIndex { pairs.append((subject.column, pattern.prefix + phoneIndex)) }
                    case .noAccount: continue
                    }
                }
                continue
            }
            switch subject.kind {
            case .user, .contact: pairs.append((subject.column, user.rawValue))
            case .numberHolder: if let phoneIndex { pairs.append((subject.column, phoneIndex)) }
            case .pseudonym, .staff, .clientAddress: continue
            }
        }
        return pairs
    }

    static func deletion(id: String, on sql: any SQLDatabase) async throws -> AccountDeletion? {
        try await sql.raw(
            "SELECT id, requested_at, erase_after, erased_at, summary FROM account_deletions WHERE id = \(bind: id)"
        ).first().map(deletion(from:))
    }

    static func deletion(ofUser user: UserID, on sql: any SQLDatabase) async throws -> AccountDeletion? {
        try await sql.raw(
            "SELECT id, requested_at, erase_after, erased_at, summary FROM account_deletions WHERE user_id = \(bind: user.rawValue)"
        ).first().map(deletion(from:))
    }

    private static func deletion(from row: any SQLRow) throws -> AccountDeletion {
        let erasedAt = try row.decode(column: "erased_at", as: Int64?.self)
        let summary = try row.decode(column: "summary", as: String?.self)
            .flatMap { try? JSONDecoder().decode(DeletionSummary.self, from: Data($0.utf8)) }
        return AccountDeletion(
            id: try row.decode(column: "id", as: String.self),
            state: erasedAt == nil ? .scheduled : .erased,
            requestedAt: try row.decode(column: "requested_at", as: Int64.self),
            eraseAfter: try row.decode(column: "erase_after", as: Int64.self),
            erasedAt: erasedAt,
            erasedRows: summary?.rows ?? [:],
            receipt: summary?.receipt
        )
    }
}

extension JSONEncoder {
    /// Keys in order, so the same counts are the same text.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

/// Tells every node's in-memory holders whom to forget (DSR-04): each erasure leaves a notice in
/// `erasure_notices` — the person's ID and number index, encrypted, kept an hour — and each node reads the
/// notices of the last seconds every ``interval``. Forgetting twice changes nothing, so notices read again
/// in the overlap are harmless.
public final class ErasureNoticeFeed: Service, CustomStringConvertible, Sendable {
    public var description: String { "ErasureNoticeFeed" }

    let store: KithStore
    let holders: [any ForgetsErasedPeople]
    public let interval: Duration
    let logger: Logger
    /// How far back each read looks: commit delay and clock skew between nodes.
    static let overlapMillis: Int64 = 10_000
    /// When the previous read began; the first read looks back over the notices' whole hour, so a node
    /// that starts (or stalls) late still forgets everyone erased meanwhile.
    private let lastRead = Mutex<Int64?>(nil)

    public init(
        erasure: AccountErasure,
        interval: Duration = .milliseconds(500),
        logger: Logger
    ) {
        self.store = erasure.store
        self.holders = erasure.holders
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval, logger: logger, failure: "erasure notices unreadable") {
            try await self.catchUp()
        }
    }

    /// Forgets the people erased on any node since shortly before the previous read.
    /// - Returns: how many notices were read.
    @discardableResult
    public func catchUp() async throws -> Int {
        let now = store.clock.nowMillis
        let since = (lastRead.withLock { $0 } ?? now - 3_600_000) - Self.overlapMillis
        let notices = try await store.database.read { sql in
            try await sql.raw("SELECT subject_cipher FROM erasure_notices WHERE at >= \(bind: since)").all().map {
                try $0.decode(column: "subject_cipher", as: String.self)
            }
        }
        for notice in notices {
            // One notice that does not open (another key, a damaged row) does not stop the others.
            guard let opened = try? store.vault.open(notice) else { continue }
            let parts = String(decoding: opened, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            for holder in holders {
                holder.forget(erased: UserID(rawValue: String(parts[0])), phoneIndex: String(parts[1]))
            }
        }
        lastRead.withLock { $0 = now }
        return notices.count
    }

    static func record(_ user: UserID, phoneIndex: String, store: KithStore, on sql: any SQLDatabase) async throws {
        let cipher = try store.vault.seal(Array((user.rawValue + "\n" + phoneIndex).utf8))
        try await sql.raw(
            "INSERT INTO erasure_notices (at, subject_cipher) VALUES (\(bind: store.clock.nowMillis), \(bind: cipher))"
        ).run()
    }
}
