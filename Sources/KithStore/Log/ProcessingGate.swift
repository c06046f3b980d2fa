import Crypto
import Foundation
import KithCore
import SQLKit

/// Who performs a processing act.
public enum Actor: Sendable, Equatable {
    case user(UserID)
    /// Someone not signed in (a sign-up in progress, a non-user's opt-out).
    case anonymous
    case `operator`(String)
    case system
}

/// A processing of personal information, as the gate sees it before allowing it.
public struct ProcessingAct: Sendable {
    public var purpose: PurposeID
    public var actor: Actor
    /// Whose information is processed.
    public var subject: UserID?
    /// Whose consent the act rests on when the purpose's basis is consent; defaults to the subject.
    public var consentOf: UserID?
    public var initiation: Initiation
    /// Fixed text with counts, never personal data.
    public var detail: String

    public init(
        purpose: PurposeID,
        actor: Actor,
        subject: UserID?,
        consentOf: UserID? = nil,
        initiation: Initiation,
        detail: String
    ) {
        self.purpose = purpose
        self.actor = actor
        self.subject = subject
        self.consentOf = consentOf ?? subject
        self.initiation = initiation
        self.detail = detail
    }
}

/// The one gate every processing of personal information passes (ACC-11, SEC-01, SEC-08, GEN-06).
///
/// ``perform(_:_:)`` checks the legal basis — a current consent for a consent purpose, or the
/// non-consent basis the catalogue names — runs the work and appends the processing-log entry in the
/// same transaction, so there is no data change without its log entry and no log entry without its
/// change.
public struct ProcessingGate: Sendable {
    let store: KithStore

    /// Checks the basis, runs `work`, logs the act; all in one transaction.
    ///
    /// - Parameters:
    ///   - act: What is processed, whose, why and at whose initiative.
    ///   - work: The data change; it may return a replacement `detail` (with counts) for the entry.
    /// - Returns: the work's result and the log entry, whose ``ProcessingEntry/evidence`` authorises
    ///   follow-up acts such as sending a message.
    /// - Throws: ``KithError/Code/consentRequired`` when the basis is missing.
    public func perform<T: Sendable>(
        _ act: ProcessingAct,
        _ work: @Sendable (any SQLDatabase) async throws -> (T, detail: String?)
    ) async throws -> (T, ProcessingEntry) {
        let store = self.store
        return try await store.database.transaction { sql in
            let basisRef = try await Self.basis(for: act, store: store, on: sql)
            let (result, detail) = try await work(sql)
            var act = act
            if let detail { act.detail = detail }
            let entry = try await Self.append(act, basisRef: basisRef, store: store, on: sql)
            return (result, entry)
        }
    }

    /// ``perform(_:_:)`` for work that processes other people's information on the way (a contact upload
    /// that finds accounts): the work returns those acts with their basis, and they are logged before
    /// `act`, in the order given, in one append with one signed tree head.
    ///
    /// - Returns: the work's result and the entry of `act`.
    public func perform<T: Sendable>(
        _ act: ProcessingAct,
        _ work: @Sendable (any SQLDatabase) async throws -> (T, detail: String?, related: [LoggedAct])
    ) async throws -> (T, ProcessingEntry) {
        let store = self.store
        return try await store.database.transaction { sql in
            let basisRef = try await Self.basis(for: act, store: store, on: sql)
            let (result, detail, related) = try await work(sql)
            var act = act
            if let detail { act.detail = detail }
            let entries = try await Self.append(related + [LoggedAct(act, basisRef: basisRef)], store: store, on: sql)
            return (result, entries[entries.count - 1])
        }
    }

    /// ``perform(_:_:)`` for work that needs no replacement detail.
    public func perform<T: Sendable>(
        _ act: ProcessingAct,
        _ work: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> (T, ProcessingEntry) {
        try await perform(act) { sql in (try await work(sql), detail: nil) }
    }

    /// Checks the basis of an act without processing anything (for reads that must stop early).
    public func check(_ act: ProcessingAct) async throws {
        let store = self.store
        _ = try await store.database.read { sql in try await Self.basis(for: act, store: store, on: sql) }
    }

    /// The basis reference, or a thrown ``KithError`` when there is none.
    static func basis(for act: ProcessingAct, store: KithStore, on sql: any SQLDatabase) async throws -> String? {
        guard let purpose = store.catalogue.purpose(act.purpose) else {
            throw KithError(.internalError, detail: "Processing for a purpose that is not in the notice was refused.")
        }
        switch purpose.basis {
        case .consent:
            guard let person = act.consentOf,
                let consent = try await ConsentLedger(store: store).current(act.purpose, of: person, on: sql)
            else {
                throw KithError.consentRequired(act.purpose)
            }
            return "consent:\(consent.id)"
        case .contract, .legalObligation:
            return purpose.basis.rawValue
        }
    }

    /// Appends the log entry for an act in the caller's transaction (for acts whose basis was checked
    /// by the caller, such as recording a consent itself).
    public static func append(
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
    public static func append(
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
            case .system: actor = "system"
            }
            return EntryDraft(
                actor: actor,
                subject: subject,
                purpose: act.purpose,
                basis: store.catalogue.purpose(act.purpose)?.basis ?? .legalObligation,
                basisRef: logged.basisRef,
                initiation: act.initiation,
                detail: act.detail
            )
        }
        return try await store.log.append(drafts, at: store.clock.nowMillis, on: sql)
    }
}

/// A processing act with the reference to its legal basis, ready to be logged.
public struct LoggedAct: Sendable {
    public var act: ProcessingAct
    public var basisRef: String?

    public init(_ act: ProcessingAct, basisRef: String?) {
        self.act = act
        self.basisRef = basisRef
    }
}

/// Per-subject keys (crypto-shredding): the log names people by `HMAC(subjectKey, …)`; erasing a person
/// destroys the key, so their entries can no longer be linked to them while the chain still verifies.
public struct SubjectKeys: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    public func create(for user: UserID, on sql: any SQLDatabase) async throws {
        let cipher = try store.vault.seal(Random.bytes(32))
        try await sql.raw(
            "INSERT INTO subject_keys (user_id, key_cipher, created_at) VALUES (\(bind: user.rawValue), \(bind: cipher), \(bind: store.clock.nowMillis))"
        ).run()
    }

    /// The person's pseudonym in the processing log: `s:` and 32 hex digits.
    public func pseudonym(of user: UserID, on sql: any SQLDatabase) async throws -> String {
        guard
            let row = try await sql.raw("SELECT key_cipher FROM subject_keys WHERE user_id = \(bind: user.rawValue)")
                .first()
        else {
            return "erased"
        }
        return try pseudonym(keyCipher: try row.decode(column: "key_cipher", as: String.self))
    }

    /// The pseudonyms of several people, read together; people without a key are "erased".
    public func pseudonyms(of users: Set<UserID>, on sql: any SQLDatabase) async throws -> [UserID: String] {
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
    public func destroy(for user: UserID, on sql: any SQLDatabase) async throws {
        try await sql.raw("DELETE FROM subject_keys WHERE user_id = \(bind: user.rawValue)").run()
    }
}
