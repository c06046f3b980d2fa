import Crypto
import Foundation
import KithCore
import SQLKit

/// Looks through every table and column of the data inventory for a person in every form they could
/// have been stored in (DSR-04 proof of erasure): the user ID, the number as E.164, as digits, national,
/// with `00`, its blind index, its SHA-256, and the log pseudonym.
///
/// A hit in a table whose erase rule keeps data on purpose (the log's pseudonym once its key is
/// destroyed, a number's own opt-out) is reported as kept, with that rule; any other hit is a failure
/// of erasure.
public struct ErasureScan: Sendable {
    public struct Form: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public struct Hit: Codable, Sendable, Equatable, CustomStringConvertible {
        public var table: String
        public var form: String
        public var rows: Int
        /// Whether the table's erase rule keeps this form on purpose.
        public var kept: Bool

        public var description: String { "\(table): \(rows) rows hold the \(form)\(kept ? " (kept by rule)" : "")" }
    }

    let store: KithStore
    let inventory: DataInventory

    public init(store: KithStore, inventory: DataInventory = .kith) {
        self.store = store
        self.inventory = inventory
    }

    /// The forms of a person: `pseudonym` must be read before the erasure, while the key still exists.
    public func forms(of user: UserID, phone: PhoneNumber, pseudonym: String?) -> [Form] {
        let digits = String(phone.e164.dropFirst())
        var forms = [
            Form(name: "user ID", value: user.rawValue),
            Form(name: "number (E.164)", value: phone.e164),
            Form(name: "number (digits)", value: digits),
            Form(name: "number (00)", value: "00" + digits),
            Form(name: "number (blind index)", value: store.vault.blindIndex(phone)),
            Form(name: "number (SHA-256)", value: SHA256.hash(data: Array(phone.e164.utf8)).hexString),
        ]
        // Shorter national numbers (HK, SG: 8 digits) would be found inside any timestamp; the other forms hold them.
        if let national = phone.nationalSignificantNumber, national.count >= 9 {
            forms.append(Form(name: "number (national)", value: national))
        }
        if let pseudonym { forms.append(Form(name: "pseudonym", value: pseudonym)) }
        return forms
    }

    /// Every table holding any of `forms`, with the number of rows per form.
    public func scan(for forms: [Form]) async throws -> [Hit] {
        let database = store.database
        let inventory = self.inventory
        return try await store.database.read { sql in
            var hits: [Hit] = []
            for table in inventory.tables {
                for form in forms {
                    let found = table.columns.map { database.textContains("\(ident: $0.name)", form.value) }
                    var query: SQLQueryString = "SELECT COUNT(*) AS n FROM \(ident: table.name) WHERE "
                    for (position, condition) in found.enumerated() {
                        if position > 0 { query += " OR " }
                        query += condition
                    }
                    let rows = try await sql.raw(query).first()?.decode(column: "n", as: Int.self) ?? 0
                    guard rows > 0 else { continue }
                    let kept =
                        switch table.erase {
                        case .destroySubjectKey: form.name == "pseudonym"
                        case .keepAsObjection: form.name == "number (blind index)"
                        case .keepAsLegalEvidence: true
                        case .deleteRows, .anonymise, .nothingToErase: false
                        }
                    hits.append(Hit(table: table.name, form: form.name, rows: rows, kept: kept))
                }
            }
            return hits
        }
    }
}

extension ErasureScan {
    /// Scans every table, every in-memory holder of this node and `files` (a SQLite file after its
    /// checkpoint, a `pg_dump`, the outbox) for `forms`, and signs what it checked and found.
    public func receipt(
        for forms: [Form],
        user: UserID,
        phoneIndex: String,
        holders: [any ForgetsErasedPeople],
        files: [(label: String, path: String)] = [],
        deletion: String?
    ) async throws -> ErasureReceipt {
        var hits = try await scan(for: forms)
        for holder in holders where holder.holds(user, phoneIndex: phoneIndex) {
            hits.append(Hit(table: holder.holderName, form: "user ID", rows: 1, kept: false))
        }
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: file.path) else { continue }
            for form in forms {
                let count = Self.occurrences(of: Data(form.value.utf8), in: bytes)
                guard count > 0 else { continue }
                // The log's pseudonyms are in the store's bytes as in its table: kept by rule.
                hits.append(Hit(table: file.label, form: form.name, rows: count, kept: form.name == "pseudonym"))
            }
        }
        var receipt = ErasureReceipt(
            deletionId: deletion,
            checkedAt: store.clock.nowMillis,
            forms: forms.map(\.name),
            tables: inventory.tables.map(\.name),
            holders: holders.map(\.holderName),
            files: files.map(\.label),
            hits: hits,
            clean: !hits.contains { !$0.kept },
            signature: ""
        )
        receipt.signature = try store.log.keys.logSigning.signature(for: receipt.signedBytes).base64EncodedString()
        return receipt
    }

    static func occurrences(of needle: Data, in haystack: Data) -> Int {
        guard !needle.isEmpty else { return 0 }
        var count = 0
        var start = haystack.startIndex
        while let found = haystack.range(of: needle, in: start..<haystack.endIndex) {
            count += 1
            start = found.upperBound
        }
        return count
    }
}

/// What an erasure scan checked and found (DSR-04), signed with the processing log's key: the forms looked
/// for by name (never their values), the tables, in-memory holders and files read, and every hit.
public struct ErasureReceipt: Codable, Sendable, Equatable {
    public var deletionId: String?
    public var checkedAt: Int64
    public var forms: [String]
    public var tables: [String]
    public var holders: [String]
    public var files: [String]
    public var hits: [ErasureScan.Hit]
    /// No hit outside what the inventory's rules keep.
    public var clean: Bool
    /// Ed25519 over ``signedBytes``, base64.
    public var signature: String

    /// The receipt as JSON with sorted keys and an empty signature: what is signed.
    public var signedBytes: Data {
        var unsigned = self
        unsigned.signature = ""
        return (try? JSONEncoder.sorted.encode(unsigned)) ?? Data()
    }

    /// Whether the signature holds for `publicKey` (base64 of the raw Ed25519 key).
    public func isSigned(by publicKey: String) -> Bool {
        guard let raw = Data(base64Encoded: publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
            let signature = Data(base64Encoded: signature)
        else { return false }
        return key.isValidSignature(signature, for: signedBytes)
    }
}
