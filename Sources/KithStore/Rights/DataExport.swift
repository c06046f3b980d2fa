import Crypto
import Foundation
import KithCore
import SQLKit

/// One value of an exported row: text, a whole number, a fraction, or nothing.
public enum ExportValue: Codable, Sendable, Equatable {
    case text(String)
    case number(Int64)
    case real(Double)
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let number = try? container.decode(Int64.self) {
            self = .number(number)
        } else if let real = try? container.decode(Double.self) {
            self = .real(real)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        case .real(let real): try container.encode(real)
        case .null: try container.encodeNil()
        }
    }

    /// The value as a statement prints it.
    public var display: String {
        switch self {
        case .text(let text): text
        case .number(let number): String(number)
        case .real(let real): String(real)
        case .null: "—"
        }
    }
}

/// `data.json` of an export (DSR-01, DSR-05): schema `kith-export-v1`, published at `/schemas/export-v1.json`.
public struct ExportDocument: Codable, Sendable {
    public static let schemaID = "https://kith.example/schemas/export-v1.json"

    /// What is true of the person without saying who: "3 people who use Kith have your number".
    public struct Fact: Codable, Sendable, Equatable {
        public var table: String
        public var column: String
        public var count: Int
    }

    /// A column kept about the person but not in the export, and why (a key, a hash, someone else's choice).
    public struct Withheld: Codable, Sendable, Equatable {
        public var table: String
        public var column: String
        public var reason: String
    }

    /// The person's processing-log entries with their proofs, and the signed head they are proved against.
    public struct Log: Codable, Sendable {
        /// The log's Ed25519 public key (base64 of the raw key) the head is signed with; compare it with
        /// the one the operator publishes before trusting a verification.
        public var publicKey: String
        public var treeHead: SignedTreeHead
        public var entries: [InclusionProof]
    }

    public var schema: String
    public var version: Int
    public var exportedAt: Int64
    public var userId: String
    /// The account's phone number, E.164.
    public var phone: String
    /// The person's rows of every table the data inventory exports, by table, columns by name.
    public var tables: [String: [[String: ExportValue]]]
    public var facts: [Fact]
    public var withheld: [Withheld]
    public var log: Log
}

/// Builds a person's export from the data inventory (DSR-01, DSR-05): every table with a subject column
/// that exports to the subject gives the person's rows, with the columns that export; a column whose rule
/// is "fact only" gives a count and never the source; everything else is listed as withheld with its
/// reason. A capability that declares its table in the inventory is exported without changing this type.
public struct DataExport: Sendable {
    let store: KithStore
    let inventory: DataInventory

    public init(store: KithStore, inventory: DataInventory = .kith) {
        self.store = store
        self.inventory = inventory
    }

    /// The person's export, logged as their own act.
    /// - Throws: `not-found` when there is no such account.
    public func export(_ user: UserID, initiation: Initiation) async throws -> ExportDocument {
        let store = self.store
        let inventory = self.inventory
        let numeric = try await store.database.numericColumns()
        let now = store.clock.nowMillis
        let (phone, tables, facts, pseudonym) = try await store.database.read { sql in
            guard
                let cipher = try await sql.raw("SELECT phone_cipher FROM users WHERE id = \(bind: user.rawValue)")
                    .first()?.decode(column: "phone_cipher", as: String.self)
            else { throw KithError.noSuchPerson }
            var tables: [String: [[String: ExportValue]]] = [:]
            var facts: [ExportDocument.Fact] = []
            for table in inventory.tables {
                let (matches, counted) = Self.selectors(of: table, user: user)
                for column in counted {
                    let count =
                        try await sql.raw(
                            "SELECT COUNT(*) AS n FROM \(ident: table.name) WHERE \(ident: column) = \(bind: user.rawValue)"
                        ).first()?.decode(column: "n", as: Int.self) ?? 0
                    facts.append(ExportDocument.Fact(table: table.name, column: column, count: count))
                }
                let columns = table.columns.filter { ($0.export ?? table.export) == .toSubject }
                guard !matches.isEmpty, !columns.isEmpty else { continue }
                var query: SQLQueryString = "SELECT "
                for (position, column) in columns.enumerated() {
                    if position > 0 { query += ", " }
                    query += "\(ident: column.name)"
                }
                query += " FROM \(ident: table.name) WHERE "
                for (position, match) in matches.enumerated() {
                    if position > 0 { query += " OR " }
                    query += "\(ident: match.column) = \(bind: match.value)"
                }
                var rows: [[String: ExportValue]] = []
                for row in try await sql.raw(query).all() {
                    var values: [String: ExportValue] = [:]
                    for column in columns {
                        values[column.name] = try Self.value(
                            row,
                            column,
                            numeric: numeric[SchemaColumn(table.name, column.name)],
                            vault: store.vault
                        )
                    }
                    rows.append(values)
                }
                tables[table.name] = rows
            }
            let pseudonym = try await SubjectKeys(store: store).pseudonym(of: user, on: sql)
            return (try store.vault.decryptPhone(cipher), tables, facts, pseudonym)
        }
        let seqs = try await store.database.read { sql in
            let condition = store.database.textContains("entry", "\"" + pseudonym + "\"")
            return try await sql.raw(
                "SELECT seq FROM processing_log WHERE subject_ref = \(bind: pseudonym) OR \(condition)"
            ).all().map { try $0.decode(column: "seq", as: Int.self) }
        }
        guard let (all, head) = try await ProcessingLog.signedInclusionProofs(seqs: Set(seqs), on: store.database)
        else {
            throw KithError(.internalError, detail: "The processing log is not initialised; run kith migrate.")
        }
        // Entries another person's act left about this one, marked as not theirs to see (a block), stay out.
        // Not counted either: "N entries withheld because of a block" would tell what the entries would.
        let proofs = all.filter { proof in
            // Only an entry that carries the mark is decoded to see whose act it was.
            guard proof.entry.contains(SocialNetwork.withheldFromSubject) else { return true }
            let entry = try? JSONDecoder().decode(ProcessingEntry.self, from: Data(proof.entry.utf8))
            guard let entry, entry.actor != pseudonym else { return true }
            return entry.evidence?[SocialNetwork.withheldFromSubject] == nil
        }
        let rows = tables.values.reduce(0) { $0 + $1.count }
        let act = ProcessingAct.own(
            .account,
            by: user,
            initiation: initiation,
            detail: "data export: \(rows) rows of \(tables.count) tables, \(proofs.count) log entries with proofs"
        )
        try await store.logDerivation(act)
        return ExportDocument(
            schema: ExportDocument.schemaID,
            version: 1,
            exportedAt: now,
            userId: user.rawValue,
            phone: phone.e164,
            tables: tables,
            facts: facts,
            withheld: withheld,
            log: ExportDocument.Log(
                publicKey: store.log.publicKeyBase64,
                treeHead: head,
                entries: proofs
            )
        )
    }

    /// Every personal column the inventory keeps but does not export, with its reason.
    public var withheld: [ExportDocument.Withheld] {
        inventory.tables.flatMap { table in
            table.columns.compactMap { column -> ExportDocument.Withheld? in
                guard column.category.isPersonal, case .notExported(let reason) = column.export ?? table.export else {
                    return nil
                }
                return ExportDocument.Withheld(table: table.name, column: column.name, reason: reason)
            }
        }
    }

    /// The (column, value) pairs whose rows are the person's to export, and the columns only counted.
    static func selectors(
        of table: InventoryTable,
        user: UserID
    ) -> (matches: [(column: String, value: String)], counted: [String]) {
        var matches: [(column: String, value: String)] = []
        var counted: [String] = []
        for subject in table.subjects where subject.kind == .user || subject.kind == .contact {
            let patterns = table.column(subject.column)?.keyPatterns ?? []
            if !patterns.isEmpty {
                for pattern in patterns where pattern.export == .toSubject && pattern.identity == .userID {
                    matches.append((subject.column, pattern.prefix + user.rawValue))
                }
                continue
            }
            switch subject.export {
            case .toSubject: matches.append((subject.column, user.rawValue))
            case .factOnlyNeverSource: counted.append(subject.column)
            case .notExported: continue
            }
        }
        return (matches, counted)
    }

    static func value(
        _ row: any SQLRow,
        _ column: InventoryColumn,
        numeric integer: Bool?,
        vault: PhoneVault
    ) throws -> ExportValue {
        if try row.decodeNil(column: column.name) { return .null }
        switch integer {
        case true?: return .number(try row.decode(column: column.name, as: Int64.self))
        case false?: return .real(try row.decode(column: column.name, as: Double.self))
        case nil: break
        }
        let text = try row.decode(column: column.name, as: String.self)
        // The only ciphertext a person is given back is their own number, decrypted.
        if column.category == .phoneNumberCiphertext { return .text(try vault.decryptPhone(text).e164) }
        return .text(text)
    }
}
