import Crypto
import Foundation
import KithCore
import SQLKit

/// The one gate every processing of personal information passes (ACC-11, SEC-01, SEC-08, GEN-06).
///
/// ``perform(_:_:)`` checks the legal basis — a current consent for a consent purpose, or the
/// non-consent basis the catalogue names — runs the work and appends the processing-log entry in the
/// same transaction, so there is no data change without its log entry and no log entry without its
/// change. The basis is always the gate's to decide, from the purpose and the act's effect: no caller
/// names its own. Everything here is internal to KithStore: the capability services are the door.
struct ProcessingGate: Sendable {
    let store: KithStore

    /// Checks the basis, runs `work`, logs the act; all in one transaction.
    ///
    /// - Parameters:
    ///   - act: What is processed, whose, why and at whose initiative.
    ///   - work: The data change; it may return a replacement `detail` (with counts) for the entry, and
    ///     further acts done on the way (about other people), logged before `act` in the order given: with
    ///     the basis the work confirmed in this transaction, or with none for the gate to establish.
    /// - Returns: the work's result and the log entry, whose ``ProcessingEntry/reference`` authorises
    ///   follow-up acts such as sending a message.
    /// - Throws: ``KithError/Code/consentRequired`` when the basis is missing.
    func perform<T: Sendable>(
        _ act: ProcessingAct,
        _ work: @escaping @Sendable (any SQLDatabase) async throws -> (T, detail: String?, related: [LoggedAct])
    ) async throws -> (T, ProcessingEntry) {
        let store = self.store
        return try await store.database.transaction { sql in
            let basisRef = try await Self.basis(for: act, store: store, on: sql)
            let (result, detail, related) = try await work(sql)
            var act = act
            if let detail { act.detail = detail }
            var logged: [LoggedAct] = []
            for other in related {
                if other.basisRef != nil {
                    logged.append(other)
                } else {
                    logged.append(
                        LoggedAct(other.act, basisRef: try await Self.basis(for: other.act, store: store, on: sql))
                    )
                }
            }
            logged.append(LoggedAct(act, basisRef: basisRef))
            let entries = try await Self.append(logged, store: store, on: sql)
            return (result, entries[entries.count - 1])
        }
    }

    /// ``perform(_:_:)`` for work that returns its own detail but no other acts.
    func perform<T: Sendable>(
        _ act: ProcessingAct,
        _ work: @escaping @Sendable (any SQLDatabase) async throws -> (T, detail: String?)
    ) async throws -> (T, ProcessingEntry) {
        try await perform(act) { sql in
            let (result, detail) = try await work(sql)
            return (result, detail: detail, related: [])
        }
    }

    /// ``perform(_:_:)`` for work that needs no replacement detail.
    func perform<T: Sendable>(
        _ act: ProcessingAct,
        _ work: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> (T, ProcessingEntry) {
        try await perform(act) { sql in (try await work(sql), detail: nil, related: []) }
    }

    /// Logs an act that changes nothing else (a security event, a read-side derivation).
    @discardableResult
    func record(_ act: ProcessingAct) async throws -> ProcessingEntry {
        try await perform(act) { _ in () }.1
    }

    /// Checks the basis and logs `acts` in the caller's transaction, in order (for work that is already
    /// inside a transaction, such as redeeming a code and signing in).
    @discardableResult
    static func record(
        _ acts: [ProcessingAct],
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws
        -> [ProcessingEntry]
    {
        var logged: [LoggedAct] = []
        for act in acts { logged.append(LoggedAct(act, basisRef: try await basis(for: act, store: store, on: sql))) }
        return try await append(logged, store: store, on: sql)
    }

    /// Checks the basis of an act without processing anything (for reads that must stop early).
    func check(_ act: ProcessingAct) async throws {
        let store = self.store
        _ = try await store.database.read { sql in try await Self.basis(for: act, store: store, on: sql) }
    }

    /// The basis reference, or a thrown ``KithError`` when there is none.
    static func basis(for act: ProcessingAct, store: KithStore, on sql: any SQLDatabase) async throws -> String? {
        guard let purpose = store.catalogue.purpose(act.purpose) else {
            throw KithError(.internalError, detail: "Processing for a purpose that is not in the notice was refused.")
        }
        if act.effect == .erasure { return Self.erasureBasis }
        switch purpose.basis {
        case .consent:
            guard let person = act.consentOf,
                let consent = try await ConsentLedger(store: store).currentID(act.purpose, of: person, on: sql)
            else {
                throw KithError.consentRequired(act.purpose)
            }
            return "consent:\(consent)"
        case .contract, .legalObligation:
            return purpose.basis.rawValue
        }
    }

    /// The basis of deleting a person's data at their request: the processor's duty (PIPL 47).
    static let erasureBasis = "pipl-47:erasure-request"

    /// Appends the log entry for an act whose basis the caller established itself (recording or
    /// withdrawing a consent names that consent), in the caller's transaction.
    static func append(
        _ act: ProcessingAct,
        basisRef: String?,
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws
        -> ProcessingEntry
    {
        try await append([LoggedAct(act, basisRef: basisRef)], store: store, on: sql)[0]
    }

    /// Appends the entries of several acts, in order, in the caller's transaction: the same entries as
    /// appending them one by one, with the people's pseudonyms looked up together and one signed head.
    static func append(
        _ acts: [LoggedAct],
        store: KithStore,
        on sql: any SQLDatabase
    ) async throws
        -> [ProcessingEntry]
    {
        var people = Set<UserID>()
        for logged in acts {
            if let subject = logged.act.subject { people.insert(subject) }
            if case .user(let user) = logged.act.actor { people.insert(user) }
        }
        let pseudonyms = try await SubjectKeys(store: store).pseudonyms(of: people, on: sql)
        let drafts = acts.map { logged in
            let act = logged.act
            let subject = act.subject.map { pseudonyms[$0] ?? "erased" }
            let actor: String
            switch act.actor {
            case .user(let user): actor = user == act.subject ? (subject ?? "user") : pseudonyms[user] ?? "erased"
            case .anonymous: actor = "anonymous"
            case .operator(let name): actor = "operator:\(name)"
            case .partner(let name): actor = "partner:\(name)"
            case .system: actor = "system"
            }
            let basis: LegalBasis =
                act.effect == .erasure
                ? .legalObligation : store.catalogue.purpose(act.purpose)?.basis ?? .legalObligation
            return EntryDraft(
                actor: actor,
                subject: subject,
                purpose: act.purpose,
                basis: basis,
                basisRef: logged.basisRef,
                initiation: act.initiation,
                detail: act.detail,
                evidence: act.evidence
            )
        }
        return try await store.log.append(drafts, at: store.clock.nowMillis, on: sql)
    }
}

/// A processing act with the reference to its legal basis, ready to be logged.
struct LoggedAct: Sendable {
    var act: ProcessingAct
    /// The basis the work confirmed; `nil` for the gate to establish.
    var basisRef: String?

    init(_ act: ProcessingAct, basisRef: String? = nil) {
        self.act = act
        self.basisRef = basisRef
    }
}

/// Per-subject keys (crypto-shredding): the log names people by `HMAC(subjectKey, …)`; erasing a person
/// destroys the key, so their entries can no longer be linked to them while the chain still verifies.
struct SubjectKeys: Sendable {
    let store: KithStore

    init(store: KithStore) { self.store = store }

    func create(for user: UserID, on sql: any SQLDatabase) async throws {
        let cipher = try store.vault.seal(Random.bytes(32))
        try await sql.raw(
            "INSERT INTO subject_keys (user_id, key_cipher, created_at) VALUES (\(bind: user.rawValue), \(bind: cipher), \(bind: store.clock.nowMillis))"
        ).run()
    }

    /// The person's pseudonym in the processing log: `s:` and 32 hex digits.
    func pseudonym(of user: UserID, on sql: any SQLDatabase) async throws -> String {
        guard
            let row = try await sql.raw("SELECT key_cipher FROM subject_keys WHERE user_id = \(bind: user.rawValue)")
                .first()
        else {
            return "erased"
        }
        return try pseudonym(keyCipher: try row.decode(column: "key_cipher", as: String.self))
    }

    /// The pseudonyms of several people, read together; people without a key are "erased".
    func pseudonyms(of users: Set<UserID>, on sql: any SQLDatabase) async throws -> [UserID: String] {
        guard !users.isEmpty else { return [:] }
        if users.count == 1, let user = users.first { return [user: try await pseudonym(of: user, on: sql)] }
        let rows = try await sql.select().column("user_id").column("key_cipher").from("subject_keys")
            .where("user_id", .in, users.map(\.rawValue))
            .all()
        var found: [UserID: String] = [:]
        for row in rows {
            let user = UserID(rawValue: try row.decode(column: "user_id", as: String.self))
            found[user] = try pseudonym(keyCipher: try row.decode(column: "key_cipher", as: String.self))
        }
        for user in users where found[user] == nil { found[user] = "erased" }
        return found
    }

    private func pseudonym(keyCipher: String) throws -> String {
        let key = SymmetricKey(data: try store.vault.open(keyCipher))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("kith-subject-v1".utf8), using: key)
        return "s:" + Array(mac).prefix(16).hexString
    }

    /// Destroys the person's key (erasure).
    func destroy(for user: UserID, on sql: any SQLDatabase) async throws {
        try await sql.raw("DELETE FROM subject_keys WHERE user_id = \(bind: user.rawValue)").run()
    }
}
