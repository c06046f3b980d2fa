import Crypto
import Foundation
import KithCore
import SQLKit

/// What a verification code proves: the right to sign in, or control of a number for a non-user's
/// opt-out (CON-08). A code of one kind never redeems the other.
public enum VerificationKind: String, Sendable {
    case signIn = "sign-in"
    case numberOptOut = "number-opt-out"
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
    /// unused codes for the number stop working. An opt-out code for a number that already opted out is
    /// answered as sent and never sent (``PendingVerification/message`` is `nil`): a refusal would tell
    /// the asker that the number's holder opted out (CON-08).
    ///
    /// - Throws: ``LimitRefusal`` when a limit refuses; nothing is written but, for a tripped pumping
    ///   guard, the range's block and its security event.
    public func startVerification(
        phone: PhoneNumber,
        kind: VerificationKind = .signIn,
        requester: CodeRequester,
        initiation: Initiation
    ) async throws -> PendingVerification {
        let index = store.vault.blindIndex(phone)
        // A number-opt-out verification keeps no ciphertext: only the blind index is ever stored for it (CON-08).
        let cipher = kind == .signIn ? try store.vault.encrypt(phone) : ""
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
            purpose: kind == .signIn ? .account : .numberSuppression,
            // Whoever asks is unknown: a code request proves nothing about the asker (GEN-08).
            actor: .anonymous,
            subject: existing,
            initiation: initiation,
            detail: "verification code issued (\(kind.rawValue))"
        )
        let template: MessageTemplate = kind == .signIn ? .signInCode(code) : .optOutCode(code)
        let store = self.store
        let codeGuard = CodeSendingGuard(policy: codes, store: store)
        let message: AuthorisedMessage?
        do {
            message = try await store.database.transaction { sql in
                // The same limits whether or not the code will be sent: their answers must not differ.
                try await codeGuard.admit(phone: phone, phoneIndex: index, kind: kind, requester: requester, on: sql)
                if kind == .numberOptOut, try await NumberSuppressions.isSuppressed(index, on: sql) {
                    try await ProcessingGate.record(
                        [
                            ProcessingAct(
                                purpose: .numberSuppression,
                                actor: .anonymous,
                                subject: nil,
                                initiation: initiation,
                                detail: "opt-out code not sent: the number already opted out"
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
                    INSERT INTO verifications (id, phone_index, phone_cipher, code_hash, attempts, expires_at, consumed, created_at, kind)
                    VALUES (\(bind: id), \(bind: index), \(bind: cipher), \(bind: codeHash), 0, \(bind: expires), 0, \(bind: now), \(bind: kind.rawValue))
                    """
                ).run()
                return try await MessageDispatcher.authorise(template, to: phone, by: act, store: store, on: sql).0
            }
        } catch let refusal as LimitRefusal {
            if refusal.trippedGuard { try await codeGuard.block(rangeOf: phone, initiation: initiation) }
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
    public func verify(
        id: String,
        code: String,
        noticeVersion: Int? = nil,
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
        return try await redeem(id: id, code: code, kind: .signIn, initiation: initiation) { sql, index, cipher, now in
            try await signIn(
                phoneIndex: index,
                phoneCipher: cipher,
                noticeVersion: shown,
                initiation: initiation,
                now: now,
                on: sql
            )
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
        then: @Sendable (any SQLDatabase, _ phoneIndex: String, _ phoneCipher: String, _ now: Int64) async throws -> T
    ) async throws -> T {
        let store = self.store
        let policy = self.policy
        let now = store.clock.nowMillis
        let outcome: Attempt<T> = try await store.database.transaction { sql in
            guard
                let row = try await sql.raw(
                    "SELECT phone_index, phone_cipher, code_hash, attempts, expires_at, consumed FROM verifications WHERE id = \(bind: id) AND kind = \(bind: kind.rawValue)"
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
            return .redeemed(try await then(sql, index, cipher, now))
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
        initiation: Initiation,
        now: Int64,
        on sql: any SQLDatabase
    ) async throws -> Session {
        var user = try await sql.raw("SELECT id FROM users WHERE phone_index = \(bind: phoneIndex)").first()
            .map { UserID(rawValue: try $0.decode(column: "id", as: String.self)) }
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
        let act = ProcessingAct.own(.account, by: signedIn, initiation: initiation, detail: "signed in")
        try await ProcessingGate.record([act], store: store, on: sql)
        return Session(token: token, user: signedIn, expiresAt: expires, newAccount: isNew)
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
    public func phoneNumber(of user: UserID) async throws -> (PhoneNumber, createdAt: Int64)? {
        let row = try await store.database.read { sql in
            try await sql.raw("SELECT phone_cipher, created_at FROM users WHERE id = \(bind: user.rawValue)").first()
                .map {
                    (
                        try $0.decode(column: "phone_cipher", as: String.self),
                        try $0.decode(column: "created_at", as: Int64.self)
                    )
                }
        }
        guard let row else { return nil }
        return (try store.vault.decryptPhone(row.0), row.1)
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
