import Crypto
import Foundation
import KithCore
import SQLKit

/// What a verification code proves: the right to sign in, or control of a number for a non-user's
/// opt-out (CON-08). A code of one kind never redeems the other.
public enum VerificationKind: String, Sendable {
    case signIn = "sign-in"
    case numberOptOut = "number-opt-out"
    /// A signed-in person proves the number they change to (DSR-03).
    case numberChange = "number-change"
    /// A signed-in person proves they hold the account's number before deleting it (DSR-04, ACC-10).
    case accountDeletion = "account-deletion"
}

/// What `startPhoneVerification` hands back: the same shape whether or not the number is registered.
public struct PendingVerification: Sendable {
    public var id: String
    public var expiresIn: Int
    /// The one-time code, to be sent by SMS only; never returned to the client nor logged.
    var code: String
    /// The code's message, authorised by the logged act of issuing it (MSG-04); `nil` when the code is
    /// answered as sent and never sent.
    public var message: AuthorisedMessage?
}

/// A signed-in session.
public struct Session: Sendable {
    /// The bearer token. Shown to the client once; the store keeps only its hash.
    public var token: String
    public var user: UserID
    public var expiresAt: Int64
    public var newAccount: Bool
}

/// Accounts by phone number only (ACC-04, ACC-05, ACC-12): request a code, then verify it.
///
/// There is deliberately no other way to create an account: no partner or operator API takes a phone
/// number and makes an account of it.
public struct PhoneAccounts: Sendable {
    let store: KithStore
    public var policy: VerificationPolicy
    /// When a code may be sent (GEN-08).
    public var codes: CodeSendingPolicy

    public init(
        store: KithStore,
        policy: VerificationPolicy = VerificationPolicy(),
        codes: CodeSendingPolicy = CodeSendingPolicy()
    ) {
        self.store = store
        self.policy = policy
        self.codes = codes
    }

    /// Creates a verification for `phone` and logs the act of sending it a code, when the code limits let
    /// it through (GEN-08; ``CodeSendingPolicy``): whoever asks is an unknown party, never presumed to
    /// hold the number.
    ///
    /// Answers identically for registered and unregistered numbers (no account enumeration). Earlier
    /// unused codes for the number stop working. To a number that opted out only one sign-in code a day is
    /// sent; any other code is answered as sent and never sent (``PendingVerification/message`` is `nil`):
    /// a refusal would tell the asker that the number's holder opted out (CON-08).
    ///
    /// - Throws: ``LimitRefusal`` when a limit refuses; nothing is written but, for a tripped pumping
    ///   guard, the range's block and its security event.
    /// - Parameter user: for a number change, the signed-in person changing to `phone`; the code redeems
    ///   for them only.
    public func startVerification(
        phone: PhoneNumber,
        kind: VerificationKind = .signIn,
        for user: UserID? = nil,
        requester: CodeRequester,
        initiation: Initiation
    ) async throws -> PendingVerification {
        let index = store.vault.blindIndex(phone)
        // A number-opt-out verification keeps no ciphertext: only the blind index is ever stored for it (CON-08).
        let cipher = kind == .numberOptOut ? "" : try store.vault.encrypt(phone)
        let code = Random.digits(policy.codeLength)
        let id = "v_" + Random.token(16)
        let now = store.clock.nowMillis
        let expires = now + Int64(policy.codeLifetime) * 1000
        let codeHash = store.vault.keyedDigest("otp:" + id, code)
        let existing = try await store.database.read { sql in
            try await sql.raw("SELECT id FROM users WHERE phone_index = \(bind: index)").first()
                .map { UserID(rawValue: try $0.decode(column: "id", as: String.self)) }
        }
        let act = ProcessingAct(
            purpose: kind == .numberOptOut ? .numberSuppression : .account,
            // Whoever asks is unknown, unless signed in: a code request proves nothing about the asker (GEN-08).
            actor: user.map { .user($0) } ?? .anonymous,
            subject: user ?? existing,
            initiation: initiation,
            detail: "verification code issued (\(kind.rawValue))"
        )
        let template: MessageTemplate =
            switch kind {
            case .signIn: .signInCode(code)
            case .numberOptOut: .optOutCode(code)
            case .numberChange: .numberChangeCode(code)
            case .accountDeletion: .accountDeletionCode(code)
            }
        let store = self.store
        let codeGuard = CodeSendingGuard(policy: codes, store: store)
        let message: AuthorisedMessage?
        do {
            message = try await store.database.transaction { sql in
                // The same limits whether or not the code will be sent: their answers must not differ.
                guard
                    try await codeGuard.admit(
                        phone: phone,
                        phoneIndex: index,
                        kind: kind,
                        requester: requester,
                        on: sql
                    )
                else {
                    try await ProcessingGate.record(
                        [
                            ProcessingAct(
                                purpose: .numberSuppression,
                                actor: .anonymous,
                                subject: nil,
                                initiation: initiation,
                                detail: "\(kind.rawValue) code not sent: the number opted out"
                            )
                        ],
                        store: store,
                        on: sql
                    )
                    return nil
                }
                try await sql.raw(
                    "DELETE FROM verifications WHERE (phone_index = \(bind: index) AND kind = \(bind: kind.rawValue)) OR expires_at < \(bind: now - 86_400_000)"
                ).run()
                try await sql.raw(
                    """
                    INSERT INTO verifications (id, phone_index, phone_cipher, code_hash, attempts, expires_at, consumed, created_at, kind, user_id)
                    VALUES (\(bind: id), \(bind: index), \(bind: cipher), \(bind: codeHash), 0, \(bind: expires), 0, \(bind: now), \(bind: kind.rawValue), \(bind: user?.rawValue))
                    """
                ).run()
                return try await MessageDispatcher.authorise(template, to: phone, by: act, store: store, on: sql).0
            }
        } catch let refusal as LimitRefusal {
            // The refusal stands whether or not the block could be written; the answer must not differ.
            if refusal.trippedGuard { try? await codeGuard.block(rangeOf: phone, initiation: initiation) }
            await RateLimiter.logRefusal(refusal.limit, about: nil, initiation: initiation, store: store)
            throw refusal
        }
        return PendingVerification(id: id, expiresIn: policy.codeLifetime, code: code, message: message)
    }

    /// Number ranges that receive no code now, on every node: the pumping guard's operator metric.
    public func blockedCodeRanges() async throws -> Int { try await CodeSendingGuard.blockedRanges(store: store) }

    private enum Attempt<T: Sendable>: Sendable {
        case redeemed(T)
        case wrong
        case locked
        case unknown
    }

    /// Checks a code. The sixth guess of a code is refused even if right; an expired or used code is
    /// refused. A right code signs in, creating the account on first use by the person's own act (ACC-05).
    ///
    /// - Parameter noticeVersion: the version of the privacy notice the person was shown before signing
    ///   up (ACC-01); the registration entry records it. `nil` records the current version as shown.
    /// - Throws: `notice-mismatch` (`noticeVersion`) for a version that was never published.
    /// - Parameter registrationLockPin: the PIN, for an account with a registration lock (ACC-12); asked
    ///   for only once the code is right, so no answer before that says whether the number has a lock.
    /// - Throws: `registration-lock` (field `registrationLockPin`) when the PIN is missing or wrong, the
    ///   code staying valid; `rate-limited` once the day's PIN guesses are spent.
    public func verify(
        id: String,
        code: String,
        noticeVersion: Int? = nil,
        registrationLockPin: String? = nil,
        initiation: Initiation
    ) async throws -> Session {
        let shown = noticeVersion ?? store.catalogue.current.version
        guard store.catalogue.notice(version: shown) != nil else {
            throw KithError(
                .noticeMismatch,
                field: "noticeVersion",
                detail: "There is no privacy notice with this version."
            )
        }
        // The lock of the account the code would open and whether the code is right, read first without
        // changing anything. Only for a right code with a PIN is a guess spent (atomically, before the PIN is
        // checked, so parallel guesses cannot outrun the limit) and scrypt run, outside any transaction: a
        // wrong code costs and answers the same with or without a lock.
        let now = store.clock.nowMillis
        let pending = try await store.database.read { sql in
            try await sql.raw(
                """
                SELECT users.id AS account, users.registration_lock AS lock, verifications.code_hash AS code_hash
                FROM verifications JOIN users ON users.phone_index = verifications.phone_index
                WHERE verifications.id = \(bind: id) AND verifications.kind = \(bind: VerificationKind.signIn.rawValue)
                    AND verifications.consumed = 0 AND verifications.expires_at > \(bind: now)
                    AND verifications.attempts < \(bind: policy.maxAttempts)
                """
            ).first().map {
                (
                    account: UserID(rawValue: try $0.decode(column: "account", as: String.self)),
                    lock: try $0.decode(column: "lock", as: String?.self),
                    codeHash: try $0.decode(column: "code_hash", as: String.self)
                )
            }
        }
        var offered: LockAttempt?
        if let pending, let lock = pending.lock, let pin = registrationLockPin,
            constantTimeEqual(pending.codeHash, store.vault.keyedDigest("otp:" + id, code))
        {
            let store = self.store
            let limit = policy.lockGuesses
            _ = try await store.database.transaction { sql in
                try await RateLimiter.take(
                    Self.lockGuessBucket(pending.account, store: store),
                    limit: limit,
                    store: store,
                    on: sql
                )
            }
            offered = LockAttempt(lock: lock, matches: try RegistrationLock.matches(pin, lock))
        }
        let attempt = offered
        do {
            return try await redeem(id: id, code: code, kind: .signIn, initiation: initiation) {
                sql,
                index,
                cipher,
                _,
                now in
                try await signIn(
                    phoneIndex: index,
                    phoneCipher: cipher,
                    noticeVersion: shown,
                    lockAttempt: attempt,
                    initiation: initiation,
                    now: now,
                    on: sql
                )
            }
        } catch let refusal as LockRefusal {
            if case .wrong(let account) = refusal {
                // The redemption rolled back: the code still works with the right PIN; the guess is spent.
                let act = ProcessingAct(
                    purpose: .securityLog,
                    actor: .anonymous,
                    subject: account,
                    initiation: initiation,
                    detail: "registration lock PIN refused"
                )
                _ = try? await store.logDerivation(act)
            }
            throw refusal.problem
        }
    }

    /// The rate bucket of an account's PIN guesses: a keyed digest of the account, like every bucket key.
    static func lockGuessBucket(_ account: UserID, store: KithStore) -> String {
        "lock-guesses:" + store.vault.keyedDigest("lock-guesses", account.rawValue)
    }

    /// A PIN offered with a code: the lock it was checked against, and whether it matched.
    struct LockAttempt: Sendable {
        var lock: String
        var matches: Bool
    }

    /// Why a right code did not sign in to a locked account; the redemption rolls back.
    enum LockRefusal: Error {
        case required
        case wrong(UserID)

        var problem: KithError {
            switch self {
            case .required:
                KithError(
                    .registrationLock,
                    field: "registrationLockPin",
                    detail: "This account has a registration lock: enter its PIN with the code."
                )
            case .wrong:
                KithError(.registrationLock, field: "registrationLockPin", detail: "The PIN is not right.")
            }
        }
    }

    /// Redeems a code of `kind` and runs `then` in the same transaction with the number's blind index
    /// and ciphertext. Wrong guesses are counted even though the redemption fails, and every wrong or
    /// locked attempt is a logged security event (SEC-01) naming the account when the number has one.
    func redeem<T: Sendable>(
        id: String,
        code: String,
        kind: VerificationKind,
        initiation: Initiation,
        then:
            @escaping @Sendable (
                any SQLDatabase, _ phoneIndex: String, _ phoneCipher: String, _ owner: String?, _ now: Int64
            )
            async throws -> T
    ) async throws -> T {
        let store = self.store
        let policy = self.policy
        let now = store.clock.nowMillis
        let outcome: Attempt<T> = try await store.database.transaction { sql in
            guard
                let row = try await sql.raw(
                    "SELECT phone_index, phone_cipher, code_hash, attempts, expires_at, consumed, user_id FROM verifications WHERE id = \(bind: id) AND kind = \(bind: kind.rawValue)"
                ).first()
            else { return .unknown }
            let attempts = try row.decode(column: "attempts", as: Int.self)
            let consumed = try row.decode(column: "consumed", as: Int.self)
            let expiresAt = try row.decode(column: "expires_at", as: Int64.self)
            let index = try row.decode(column: "phone_index", as: String.self)
            if consumed != 0 || expiresAt <= now { return .unknown }
            if attempts >= policy.maxAttempts {
                try await Self.logFailedAttempt("locked", kind: kind, phoneIndex: index, initiation, store, sql)
                return .locked
            }
            try await sql.raw("UPDATE verifications SET attempts = attempts + 1 WHERE id = \(bind: id)").run()
            let expected = try row.decode(column: "code_hash", as: String.self)
            let given = store.vault.keyedDigest("otp:" + id, code)
            guard constantTimeEqual(expected, given) else {
                try await Self.logFailedAttempt("wrong", kind: kind, phoneIndex: index, initiation, store, sql)
                return .wrong
            }
            try await sql.raw("UPDATE verifications SET consumed = 1 WHERE id = \(bind: id)").run()
            let cipher = try row.decode(column: "phone_cipher", as: String.self)
            let owner = try row.decode(column: "user_id", as: String?.self)
            return .redeemed(try await then(sql, index, cipher, owner, now))
        }
        switch outcome {
        case .redeemed(let value):
            return value
        case .wrong:
            throw KithError(
                .verificationFailed,
                field: "code",
                detail: "The code is not right. Check the SMS and try again."
            )
        case .locked:
            throw KithError(
                .verificationLocked,
                field: "code",
                detail: "This code was guessed too many times and no longer works. Request a new code."
            )
        case .unknown:
            throw KithError(
                .verificationFailed,
                field: "verificationId",
                detail: "This verification has expired or was already used. Request a new code."
            )
        }
    }

    /// Logs a wrong or locked code attempt: the account it was aimed at (when the number has one) sees
    /// it among the acts about them; the number itself is never in the entry.
    private static func logFailedAttempt(
        _ outcome: String,
        kind: VerificationKind,
        phoneIndex: String,
        _ initiation: Initiation,
        _ store: KithStore,
        _ sql: any SQLDatabase
    ) async throws {
        let account = try await sql.raw("SELECT id FROM users WHERE phone_index = \(bind: phoneIndex)").first()
            .map { UserID(rawValue: try $0.decode(column: "id", as: String.self)) }
        let act = ProcessingAct(
            purpose: .securityLog,
            actor: .anonymous,
            subject: account,
            initiation: initiation,
            detail: "\(kind.rawValue) code attempt refused (\(outcome))"
        )
        try await ProcessingGate.record([act], store: store, on: sql)
    }

    private func signIn(
        phoneIndex: String,
        phoneCipher: String,
        noticeVersion: Int,
        lockAttempt: LockAttempt?,
        initiation: Initiation,
        now: Int64,
        on sql: any SQLDatabase
    ) async throws -> Session {
        var user: UserID?
        if let row = try await sql.raw(
            "SELECT id, registration_lock, last_session_at, created_at FROM users WHERE phone_index = \(bind: phoneIndex)"
        ).first() {
            let existing = UserID(rawValue: try row.decode(column: "id", as: String.self))
            // Unknown for accounts from before the column: never taken for recycled until a sign-in sets it.
            let lastSession = try row.decode(column: "last_session_at", as: Int64?.self)
            if let lock = try row.decode(column: "registration_lock", as: String?.self) {
                try checkLock(lock, of: existing, attempt: lockAttempt)
                user = existing
            } else if let lastSession,
                lastSession + Int64(policy.sessionLifetime + policy.recycledAfterDays * 86_400) * 1000 <= now
            {
                try await freezeRecycled(existing, initiation: initiation, now: now, on: sql)
            } else {
                user = existing
            }
        }
        let isNew = user == nil
        if user == nil {
            let created = UserID.generate()
            try await SubjectKeys(store: store).create(for: created, on: sql)
            let act = ProcessingAct(
                purpose: .account,
                actor: .user(created),
                subject: created,
                initiation: initiation,
                detail: "account created by the person's own verified phone number",
                evidence: ["noticeVersion": String(noticeVersion)]
            )
            let entry = try await ProcessingGate.record([act], store: store, on: sql)[0]
            try await sql.raw(
                """
                INSERT INTO users (id, phone_index, phone_cipher, created_at, registration_evidence)
                VALUES (\(bind: created.rawValue), \(bind: phoneIndex), \(bind: phoneCipher), \(bind: now), \(bind: entry.reference))
                """
            ).run()
            user = created
        }
        let signedIn = user!
        let token = Random.token(32)
        let expires = now + Int64(policy.sessionLifetime) * 1000
        try await sql.raw(
            """
            INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
            VALUES (\(bind: Self.tokenHash(token)), \(bind: signedIn.rawValue), \(bind: now), \(bind: expires))
            """
        ).run()
        try await sql.raw("UPDATE users SET last_session_at = \(bind: now) WHERE id = \(bind: signedIn.rawValue)").run()
        let act = ProcessingAct.own(.account, by: signedIn, initiation: initiation, detail: "signed in")
        try await ProcessingGate.record([act], store: store, on: sql)
        return Session(token: token, user: signedIn, expiresAt: expires, newAccount: isNew)
    }

    /// ACC-12: a locked account opens only with its PIN (the guess was spent before the PIN was checked).
    private func checkLock(_ lock: String, of account: UserID, attempt: LockAttempt?) throws {
        // A PIN checked against a lock changed since is no answer either way: ask again.
        guard let attempt, attempt.lock == lock else { throw LockRefusal.required }
        guard attempt.matches else { throw LockRefusal.wrong(account) }
    }

    /// ACC-12, DSR-03: the number of an account without a lock and with no session for
    /// ``VerificationPolicy/recycledAfterDays`` signs in again: the carrier has probably given it to someone
    /// else. The old account is frozen — its number's index no longer leads to it, so nobody signs in to it,
    /// matches it or texts it, and no node suggests it — and the sign-in goes on to a new, empty account.
    /// ``AccountErasure/eraseDue(initiation:)`` erases it after ``DeletionPolicy/frozenRetentionDays``.
    private func freezeRecycled(
        _ account: UserID,
        initiation: Initiation,
        now: Int64,
        on sql: any SQLDatabase
    )
        async throws
    {
        let act = ProcessingAct(
            purpose: .account,
            actor: .system,
            subject: account,
            initiation: initiation,
            detail: "account frozen: its number signed in after \(policy.recycledAfterDays) days without a session, "
                + "so a new account was opened for it"
        )
        try await ProcessingGate.record([act], store: store, on: sql)
        try await sql.raw(
            "UPDATE users SET phone_index = \(bind: "frozen:" + account.rawValue), frozen_at = \(bind: now) WHERE id = \(bind: account.rawValue)"
        ).run()
        try await sql.raw("UPDATE profiles SET suggestable = 0 WHERE user_id = \(bind: account.rawValue)").run()
        // Every node's replica stops suggesting it (the frozen account is erased after its retention).
        try await GraphReplica.recordChange(account, nil, at: now, on: sql)
    }

    /// DSR-03: the signed-in person changes their number to the one a number-change code was sent to.
    /// In one transaction with its log entry: the account's blind index and ciphertext, the discovery
    /// index's feed (`users.phone_seq`), and the contact edges of people who had the old number (their
    /// address books do not hold the new one).
    ///
    /// - Throws: `verification-failed` for a code of someone else's; `conflict` (field `phone`) when the
    ///   number belongs to another account — said only once the code proved the caller holds it.
    public func changeNumber(
        verificationId: String,
        code: String,
        of user: UserID,
        initiation: Initiation
    ) async throws -> PhoneNumber {
        let store = self.store
        let cipher = try await redeem(id: verificationId, code: code, kind: .numberChange, initiation: initiation) {
            sql,
            index,
            cipher,
            owner,
            _ in
            guard owner == user.rawValue else {
                throw KithError(
                    .verificationFailed,
                    field: "verificationId",
                    detail: "This verification has expired or was already used. Request a new code."
                )
            }
            let holder = try await sql.raw("SELECT id FROM users WHERE phone_index = \(bind: index)").first()?
                .decode(column: "id", as: String.self)
            if holder == user.rawValue { return cipher }
            guard holder == nil else {
                throw KithError(
                    .conflict,
                    field: "phone",
                    detail:
                        "This number belongs to another Kith account: sign in with it, or delete that account first."
                )
            }
            let old = try await sql.raw("SELECT phone_index FROM users WHERE id = \(bind: user.rawValue)").first()?
                .decode(column: "phone_index", as: String.self)
            let dropped = try await sql.raw(
                "DELETE FROM contact_edges WHERE contact_id = \(bind: user.rawValue) RETURNING owner_id"
            ).all().count
            let act = ProcessingAct.own(
                .account,
                by: user,
                initiation: initiation,
                detail: "phone number changed; \(dropped) contact edges of the old number removed"
            )
            let entry = try await ProcessingGate.record([act], store: store, on: sql)[0]
            try await sql.raw(
                """
                UPDATE users SET phone_index = \(bind: index), phone_cipher = \(bind: cipher), phone_seq = \(bind: entry.seq)
                WHERE id = \(bind: user.rawValue)
                """
            ).run()
            if let old {
                try await sql.raw("DELETE FROM verifications WHERE phone_index = \(bind: old)").run()
            }
            return cipher
        }
        return try store.vault.decryptPhone(cipher)
    }

    /// ACC-12: sets (or replaces) the account's registration lock; the PIN is kept only as its scrypt hash.
    ///
    /// - Throws: `invalid-field` (`pin`) unless the PIN is 6 to 12 digits.
    public func setRegistrationLock(_ pin: String, of user: UserID, initiation: Initiation) async throws {
        guard RegistrationLock.isValid(pin) else {
            throw KithError.invalid("pin", "A registration-lock PIN is 6 to 12 digits.")
        }
        let hashed = try RegistrationLock.hash(pin)
        let act = ProcessingAct.own(.account, by: user, initiation: initiation, detail: "registration lock set")
        _ = try await store.gate.perform(act) { sql in
            try await sql.raw("UPDATE users SET registration_lock = \(bind: hashed) WHERE id = \(bind: user.rawValue)")
                .run()
        }
    }

    /// ACC-12: removes the account's registration lock.
    public func removeRegistrationLock(of user: UserID, initiation: Initiation) async throws {
        let act = ProcessingAct.own(.account, by: user, initiation: initiation, detail: "registration lock removed")
        _ = try await store.gate.perform(act) { sql in
            try await sql.raw("UPDATE users SET registration_lock = NULL WHERE id = \(bind: user.rawValue)").run()
        }
    }

    /// The principal behind a bearer token, or `nil` when the token is unknown or expired.
    ///
    /// Answered from the node's ``SessionCache`` while it is in step with the store's revocations, from
    /// the store otherwise (issue 12).
    public func authenticate(token: String) async throws -> SignedInUser? {
        let hash = Self.tokenHash(token)
        let now = store.clock.nowMillis
        let reference = "sess:" + hash.prefix(16)
        if let user = store.sessions.user(for: hash, now: now) {
            return SignedInUser(user: user, sessionRef: reference)
        }
        let generation = store.sessions.generation
        let found = try await store.database.read { sql in
            try await sql.raw(
                "SELECT user_id, expires_at FROM sessions WHERE token_hash = \(bind: hash) AND expires_at > \(bind: now)"
            ).first().map {
                (
                    UserID(rawValue: try $0.decode(column: "user_id", as: String.self)),
                    try $0.decode(column: "expires_at", as: Int64.self)
                )
            }
        }
        guard let (user, expiresAt) = found else { return nil }
        store.sessions.keep(hash, user: user, expiresAt: expiresAt, since: generation)
        return SignedInUser(user: user, sessionRef: reference)
    }

    /// Ends the session of `token`, logged as a security event of the account (SEC-01): refused on this
    /// node at once, on every node sharing the store within a second (``SessionRevocationFeed``).
    public func signOut(token: String, of user: UserID, initiation: Initiation) async throws {
        let hash = Self.tokenHash(token)
        let act = ProcessingAct.own(.account, by: user, initiation: initiation, detail: "signed out")
        let store = self.store
        _ = try await store.gate.perform(act) { sql in
            try await SessionCache.end([hash], of: user, store: store, on: sql)
        }
        // After the commit: forgetting earlier would let a concurrent lookup cache the session again.
        store.sessions.forget([hash])
    }

    /// The account's phone number (for `getMe`: the person's own data).
    public func phoneNumber(of user: UserID) async throws -> (PhoneNumber, createdAt: Int64, locked: Bool)? {
        let row = try await store.database.read { sql in
            try await sql.raw(
                "SELECT phone_cipher, created_at, registration_lock IS NOT NULL AS locked FROM users WHERE id = \(bind: user.rawValue)"
            ).first()
                .map {
                    (
                        try $0.decode(column: "phone_cipher", as: String.self),
                        try $0.decode(column: "created_at", as: Int64.self),
                        try $0.decode(column: "locked", as: Bool.self)
                    )
                }
        }
        guard let row else { return nil }
        return (try store.vault.decryptPhone(row.0), row.1, row.2)
    }

    static func tokenHash(_ token: String) -> String { SHA256.hash(data: Array(token.utf8)).hexString }
}

func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<x.count { diff |= x[i] ^ y[i] }
    return diff == 0
}
