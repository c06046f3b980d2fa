import Foundation
import KithCore
import SQLKit

/// A partner's referral code and how many accounts were opened with it: a count, never who (ACC-05).
public struct ReferralCode: Codable, Sendable, Equatable {
    public var code: String
    public var createdAt: Int64
    public var signups: Int
}

/// A partner's credential, whose token is shown once.
public struct PartnerCredential: Sendable {
    public var name: String
    public var token: String
}

/// Partners refer, people register (ACC-05; Luo v. 51Talk, where a partner store opened an account from a
/// phone number and the platform texted credentials): a partner creates referral codes and sees how many
/// people signed up with each. Nothing here creates an account, attaches a number to one or sends a
/// message: only the person's own `verifyPhone` does, and it counts the code it was given, keeping
/// nothing that says who used it.
public struct Partners: Sendable {
    let store: KithStore

    public init(store: KithStore) { self.store = store }

    /// Creates a partner and logs it as a security event. - Returns: the credential, shown once.
    /// - Throws: `invalid-field` (`name`) for a bad name; `conflict` when the name is taken.
    public func create(name: String, initiation: Initiation) async throws -> PartnerCredential {
        try Operators.checkName(name, of: "A partner")
        let token = "kpt_" + Random.token(32)
        let hash = Operators.hash(token)
        let store = self.store
        let act = ProcessingAct(
            purpose: .securityLog,
            actor: .system,
            subject: nil,
            initiation: initiation,
            detail: "partner created"
        )
        _ = try await store.gate.perform(act) { sql in
            if try await sql.raw("SELECT name FROM partners WHERE name = \(bind: name)").first() != nil {
                throw KithError(.conflict, field: "name", detail: "A partner with this name exists.")
            }
            try await sql.raw(
                "INSERT INTO partners (name, secret_hash, created_at) VALUES (\(bind: name), \(bind: hash), \(bind: store.clock.nowMillis))"
            ).run()
        }
        return PartnerCredential(name: name, token: token)
    }

    /// The partner behind a bearer token, or `nil`.
    public func authenticate(token: String) async throws -> String? {
        try await Operators.name(forToken: token, prefix: "kpt_", in: "partners", store: store)
    }

    /// A new referral code of `partner`.
    public func createCode(by partner: String) async throws -> ReferralCode {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let code = String(Random.bytes(10).map { alphabet[Int($0) % alphabet.count] })
        let now = store.clock.nowMillis
        try await store.database.transaction { sql in
            try await sql.raw(
                "INSERT INTO referral_codes (code, partner, created_at) VALUES (\(bind: code), \(bind: partner), \(bind: now))"
            ).run()
        }
        return ReferralCode(code: code, createdAt: now, signups: 0)
    }

    /// `partner`'s codes with their counts, newest first.
    public func codes(of partner: String) async throws -> [ReferralCode] {
        try await store.database.read { sql in
            try await sql.raw(
                "SELECT code, created_at, signups FROM referral_codes WHERE partner = \(bind: partner) ORDER BY created_at DESC, code"
            ).all().map {
                ReferralCode(
                    code: try $0.decode(column: "code", as: String.self),
                    createdAt: try $0.decode(column: "created_at", as: Int64.self),
                    signups: try $0.decode(column: "signups", as: Int.self)
                )
            }
        }
    }

    /// Counts one account opened by its holder's own verification with `code`; an unknown code counts
    /// nothing. Which account it was is not kept.
    public func countSignup(code: String) async throws {
        try await store.database.transaction { sql in
            try await sql.raw("UPDATE referral_codes SET signups = signups + 1 WHERE code = \(bind: code)").run()
        }
    }
}
