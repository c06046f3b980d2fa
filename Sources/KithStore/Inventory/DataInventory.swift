import KithCore

/// The data inventory: one declaration of every table, column and in-memory holder of Kith, with what
/// each holds, whose it is, why, on which basis, for how long, and what export and erasure do with it
/// (CON-00, SEC-07, GEN-02).
///
/// It is the machine-readable record of processing activities. The schema test fails on any column of
/// the migrated schema the inventory does not classify; the retention sweeper deletes what its
/// ``Retention`` rules say has expired (SEC-05); the served record of processing activities lists the
/// categories it declares per purpose (ACC-01). A new capability declares its tables here and is swept
/// and described without anyone remembering to.
public struct DataInventory: Sendable {
    public var tables: [InventoryTable]
    public var holders: [InMemoryHolder]

    public init(tables: [InventoryTable], holders: [InMemoryHolder]) {
        self.tables = tables
        self.holders = holders
    }

    public func table(_ name: String) -> InventoryTable? { tables.first { $0.name == name } }

    /// Every column as one complete row of the record: table defaults applied.
    public var entries: [InventoryEntry] {
        tables.flatMap { table in table.columns.map { InventoryEntry(table: table, column: $0) } }
    }

    /// The categories of personal information processed for `purpose`, in declaration order, without
    /// repeats: columns, keys inside columns and in-memory holders (what the notice lists, ACC-01).
    public func categories(for purpose: PurposeID) -> [DataCategory] {
        var seen = Set<DataCategory>()
        var result: [DataCategory] = []
        func add(_ category: DataCategory, _ purposes: [PurposeID]) {
            guard category.isPersonal, purposes.contains(purpose), seen.insert(category).inserted else { return }
            result.append(category)
        }
        for table in tables {
            for column in table.columns {
                add(column.category, column.purposes)
                for key in column.keyPatterns { add(key.category, key.purposes) }
            }
        }
        for holder in holders {
            for category in holder.categories { add(category, holder.purposes) }
        }
        return result
    }

    /// Every purpose the inventory names.
    public var purposes: Set<PurposeID> {
        var all = Set<PurposeID>()
        for table in tables {
            for column in table.columns {
                all.formUnion(column.purposes)
                for key in column.keyPatterns { all.formUnion(key.purposes) }
            }
        }
        for holder in holders { all.formUnion(holder.purposes) }
        return all
    }
}

/// A kind of information, as the record of processing activities names it (`phone-number-blind-index`).
///
/// Open like ``PurposeID``: a capability may declare a new category without touching this type.
public struct DataCategory: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Whether the category is personal information at all; ``noPersonalData`` is the one that is not.
    public var isPersonal: Bool { self != .noPersonalData }

    /// A registered person's internal identifier (`users.id` and every column that repeats it).
    public static let userIdentifier: DataCategory = "user-identifier"
    /// A phone number encrypted with AES-GCM (SEC-02).
    public static let phoneNumberCiphertext: DataCategory = "phone-number"
    /// `HMAC-SHA256(index key, E.164)` of a phone number: how numbers are looked up, never an unkeyed hash.
    public static let phoneNumberKeyedHash: DataCategory = "phone-number-blind-index"
    /// A keyed hash of a client's IP address, only inside rate-limit keys (ACC-01).
    public static let clientAddressKeyedHash: DataCategory = "client-ip-keyed-hash"
    /// A keyed hash of a one-time verification code, and its attempt counter.
    public static let verificationCode: DataCategory = "verification-code"
    /// The SHA-256 of a session's bearer token.
    public static let session: DataCategory = "session"
    /// The scrypt hash of a registration-lock PIN (ACC-12), never the PIN.
    public static let registrationLock: DataCategory = "registration-lock-pin-hash"
    /// A per-person key, encrypted, that derives the person's pseudonym in the log (crypto-shredding).
    public static let subjectKey: DataCategory = "subject-key"
    /// When the person did something (signed up, connected, uploaded).
    public static let activityTime: DataCategory = "activity-time"
    /// Profile text the person wrote (name, headline, employer, school, city, avatar).
    public static let profile: DataCategory = "profile"
    /// The person's visibility and suggestion settings.
    public static let privacySettings: DataCategory = "privacy-settings"
    /// Who is connected to whom, who asked whom, who blocked or dismissed whom.
    public static let relationship: DataCategory = "connections"
    /// Endorsements given and received.
    public static let endorsement: DataCategory = "endorsements"
    /// Consent records: purpose, notice version, locale, text hash, initial state, channel, time (ACC-11).
    public static let consentEvidence: DataCategory = "consent-evidence"
    /// A reference to the processing-log entry that authorised a row (`log:<seq>`).
    public static let evidenceReference: DataCategory = "evidence-reference"
    /// A processing-log entry: who did what, whose, why, on which basis (SEC-01, ACC-11).
    public static let processingLog: DataCategory = "processing-log"
    /// A person's pseudonym in the processing log (`s:…`), derived from their subject key.
    public static let pseudonym: DataCategory = "pseudonymous-identifier"
    /// An uploaded address-book entry that matched an account: personal information of the *contact*
    /// (CON-00), kept as "the uploader has this person's number".
    public static let uploadedContact: DataCategory = "contact-edges"
    /// Something derived from uploaded numbers (a recheck token's hash, a count): third-party personal
    /// information of the contacts (CON-00).
    public static let uploadedNumbersDerived: DataCategory = "uploaded-phone-numbers"
    /// Rate-limit state (tokens left, last use): how much a person or address used a limited operation.
    public static let usageCounter: DataCategory = "usage-counter"
    /// An outbound message's record: kind, purpose, times, the digest of its text (MSG-04).
    public static let messageRecord: DataCategory = "message-record"
    /// An operator's name and the hash of their token: staff identity (SEC-02).
    public static let operatorIdentity: DataCategory = "operator-identity"
    /// A request to the processor about one's data (an explanation, next of kin's access), and its answer.
    public static let dataRequest: DataCategory = "data-request"
    /// An invitation a user sent: when, how, the digest of its text, its link (MSG-02, MSG-04).
    public static let invitation: DataCategory = "invitation"
    /// Technical data about no one (schema versions, the log's tree heads).
    public static let noPersonalData: DataCategory = "no-personal-data"
}

/// How long data is kept (SEC-05); the sweepable cases are what ``RetentionSweeper`` enforces.
public enum Retention: Sendable, Equatable {
    /// Until the person's account is erased.
    case whileAccountExists
    /// Until the person withdraws the consent for the purpose (or the account is erased, ACC-07).
    case untilConsentWithdrawn(PurposeID)
    /// Until the holder of the number lifts the opt-out (CON-08).
    case untilLifted
    /// Until the time in `column` has passed; the sweeper deletes the row then.
    case untilExpiry(column: String, unit: TimeUnit)
    /// For `seconds` after the time in `column`; the sweeper deletes the row then.
    case window(seconds: Int64, after: String, unit: TimeUnit)
    /// Legal evidence kept for years (ACC-11: ≥ 3 years; SEC-01: network logs ≥ 180 days). Not swept: the
    /// processing log is append-only and its rows are erased by destroying the subject key.
    case years(Int)
    /// Only in memory while one request runs (CON-03).
    case duringRequest
    /// In memory while the process runs, rebuilt from the store at start.
    case whileProcessRuns
    /// Not personal data: kept as long as the store.
    case notApplicable

    /// The unit a time column is stored in.
    public enum TimeUnit: Sendable, Equatable {
        case milliseconds
        case seconds
    }

    /// The row filter the sweeper deletes by: rows whose `column` is below `cutoff` (in the column's
    /// `unit`) have expired at `nowMillis`. `nil` for retentions that are not swept by time.
    public func expiry(nowMillis: Int64) -> (column: String, cutoff: Double, unit: TimeUnit)? {
        switch self {
        case .untilExpiry(let column, let unit):
            // A row expiring exactly now is already refused by the code that reads it.
            return (column, unit == .milliseconds ? Double(nowMillis + 1) : Double(nowMillis + 1) / 1000, unit)
        case .window(let seconds, let column, let unit):
            let cutoff = nowMillis - seconds * 1000
            return (column, unit == .milliseconds ? Double(cutoff) : Double(cutoff) / 1000, unit)
        default:
            return nil
        }
    }
}

/// What a data-rights export does with a column (DSR-01).
public enum ExportRule: Sendable, Equatable {
    /// Exported to the person it is about.
    case toSubject
    /// The person learns the fact ("someone who uses Kith has your number") but never who the source
    /// is (CON-00: the uploader's address book is the uploader's).
    case factOnlyNeverSource
    /// Not exported, for the reason given (a key, a hash that proves nothing to the person, a choice of
    /// someone else's that telling would defeat).
    case notExported(String)
}

/// What erasing a person does with a column or row (DSR-03).
public enum EraseRule: Sendable, Equatable {
    /// The rows that name the person are deleted.
    case deleteRows
    /// The person's subject key is destroyed: log entries stay and verify, but no longer link to them.
    case destroySubjectKey
    /// The row stays with the person's identifier replaced.
    case anonymise
    /// Kept as legal evidence for its retention (SEC-01, ACC-11); unlinkable after the key is destroyed.
    case keepAsLegalEvidence
    /// Kept after erasure because it is the person's own objection ("never match or contact this number",
    /// CON-08), as a keyed hash only: erasing it would undo the objection. Lifting it is its own request.
    case keepAsObjection
    /// Nothing to erase: not personal data, or gone by itself before erasure could ask.
    case nothingToErase
}

/// How a row or key names whose data it is.
public enum SubjectKind: Sendable, Equatable {
    /// A registered person, by `UserID`.
    case user
    /// The holder of a phone number, registered or not, by the number's blind index or ciphertext.
    case numberHolder
    /// A person whose number was in someone's uploaded address book (CON-00), by `UserID` once matched.
    case contact
    /// A person, by their pseudonym in the processing log.
    case pseudonym
    /// One of the processor's staff (an operator), by the name they act under (SEC-02).
    case staff
    /// Whoever used a client address, by a keyed hash of the address.
    case clientAddress
}

/// A column that says whose a row is: the person's ID under its local name (`sessions.user_id`,
/// `contact_edges.contact_id`), or a pattern of keys with the ID inside (`discovery:<uid>`).
public struct SubjectColumn: Sendable, Equatable {
    public var column: String
    public var kind: SubjectKind
    /// What an export gives this person of the row.
    public var export: ExportRule

    public init(_ column: String, _ kind: SubjectKind = .user, export: ExportRule = .toSubject) {
        self.column = column
        self.kind = kind
        self.export = export
    }
}

/// What follows a key pattern's prefix, so that erasure can name the person's own keys (DSR-04).
public enum KeyIdentity: Sendable, Equatable {
    /// The person's user ID itself (`reads:<user id>`).
    case userID
    /// A keyed digest of the user ID under the given context (`lock-guesses:<keyed hash of the user id>`).
    case keyedUserID(context: String)
    /// The blind index of the person's number (`otp-number:<blind index>`).
    case phoneIndex
    /// Something that names no account (a keyed hash of a client address): nothing to erase by person.
    case noAccount
}

/// A pattern of keys stored inside a text column (`rate_buckets.bucket = 'otp-number:<blind index>'`):
/// the identifier inside a string, with its own category, subject and retention.
public struct KeyPattern: Sendable, Equatable {
    /// The literal start of every key of this pattern (`otp-number:`).
    public var prefix: String
    /// What follows the prefix, for people reading the record (`<blind index>`).
    public var placeholder: String
    /// What follows the prefix, for erasure.
    public var identity: KeyIdentity
    public var category: DataCategory
    public var subject: SubjectKind
    public var purposes: [PurposeID]
    /// How long a row with such a key is kept; a ``Retention/window(seconds:after:unit:)`` is swept.
    public var retention: Retention
    public var export: ExportRule

    public init(
        _ prefix: String,
        _ placeholder: String,
        category: DataCategory,
        subject: SubjectKind,
        purposes: [PurposeID],
        retention: Retention,
        export: ExportRule,
        identity: KeyIdentity = .noAccount
    ) {
        self.prefix = prefix
        self.placeholder = placeholder
        self.identity = identity
        self.category = category
        self.subject = subject
        self.purposes = purposes
        self.retention = retention
        self.export = export
    }

    /// The pattern as the record shows it: `otp-number:<blind index>`.
    public var pattern: String { prefix + placeholder }
}

/// One column of a table.
public struct InventoryColumn: Sendable, Equatable {
    public var name: String
    public var category: DataCategory
    /// Why it is processed; the first is the purpose it was collected for.
    public var purposes: [PurposeID]
    /// Keys with identifiers inside, for text columns that hold them.
    public var keyPatterns: [KeyPattern]
    /// Overrides the table's export rule for this column.
    public var export: ExportRule?
    /// Overrides the table's erase rule for this column.
    public var erase: EraseRule?

    public init(
        _ name: String,
        _ category: DataCategory,
        _ purposes: [PurposeID],
        keys: [KeyPattern] = [],
        export: ExportRule? = nil,
        erase: EraseRule? = nil
    ) {
        self.name = name
        self.category = category
        self.purposes = purposes
        self.keyPatterns = keys
        self.export = export
        self.erase = erase
    }

    /// A column holding no personal data.
    public static func technical(_ name: String) -> InventoryColumn {
        InventoryColumn(name, .noPersonalData, [], export: .notExported("not personal data"), erase: .nothingToErase)
    }
}

/// One table of the migrated schema.
public struct InventoryTable: Sendable, Equatable {
    public var name: String
    /// The columns that say whose each row is; empty for tables about no one.
    public var subjects: [SubjectColumn]
    public var columns: [InventoryColumn]
    /// How long a row is kept. Tables whose keys have their own retention declare it on the key pattern.
    public var retention: Retention
    public var export: ExportRule
    public var erase: EraseRule
    /// Why the table is shaped so, for people reading the record.
    public var note: String?

    public init(
        _ name: String,
        subjects: [SubjectColumn],
        retention: Retention,
        export: ExportRule = .toSubject,
        erase: EraseRule = .deleteRows,
        note: String? = nil,
        columns: [InventoryColumn]
    ) {
        self.name = name
        self.subjects = subjects
        self.columns = columns
        self.retention = retention
        self.export = export
        self.erase = erase
        self.note = note
    }

    /// A table holding no personal data, declared as such so the schema check knows it was looked at.
    public static func technical(_ name: String, note: String, columns: [String]) -> InventoryTable {
        InventoryTable(
            name,
            subjects: [],
            retention: .notApplicable,
            export: .notExported("not personal data"),
            erase: .nothingToErase,
            note: note,
            columns: columns.map(InventoryColumn.technical)
        )
    }

    public var holdsPersonalData: Bool { columns.contains { $0.category.isPersonal } }

    public func column(_ name: String) -> InventoryColumn? { columns.first { $0.name == name } }
}

/// One complete row of the record of processing activities: a column with its table's rules applied.
public struct InventoryEntry: Sendable, Equatable {
    public var table: String
    public var column: String
    public var category: DataCategory
    public var subjects: [SubjectColumn]
    public var purposes: [PurposeID]
    public var keyPatterns: [KeyPattern]
    public var retention: Retention
    public var export: ExportRule
    public var erase: EraseRule

    init(table: InventoryTable, column: InventoryColumn) {
        self.table = table.name
        self.column = column.name
        self.category = column.category
        self.subjects = table.subjects
        self.purposes = column.purposes
        self.keyPatterns = column.keyPatterns
        self.retention = table.retention
        self.export = column.export ?? table.export
        self.erase = column.erase ?? table.erase
    }

    /// The legal basis of each purpose, as the catalogue names it (`nil` for a purpose it lacks).
    public func bases(in catalogue: PurposeCatalogue) -> [PurposeID: LegalBasis?] {
        Dictionary(uniqueKeysWithValues: purposes.map { ($0, catalogue.purpose($0)?.basis) })
    }
}

/// Personal information held in memory rather than in a table (a replica, an index, a cache).
public struct InMemoryHolder: Sendable, Equatable {
    /// The type that holds it (`GraphReplica`).
    public var name: String
    public var holds: String
    public var categories: [DataCategory]
    public var subjects: [SubjectKind]
    public var purposes: [PurposeID]
    public var retention: Retention
    /// The tables it is rebuilt from, so export and erasure of those tables covers it.
    public var rebuiltFrom: [String]
    /// What erasing a person does to it.
    public var erase: String

    public init(
        _ name: String,
        holds: String,
        categories: [DataCategory],
        subjects: [SubjectKind],
        purposes: [PurposeID],
        retention: Retention,
        rebuiltFrom: [String],
        erase: String
    ) {
        self.name = name
        self.holds = holds
        self.categories = categories
        self.subjects = subjects
        self.purposes = purposes
        self.retention = retention
        self.rebuiltFrom = rebuiltFrom
        self.erase = erase
    }
}
