/// The identifier of a processing purpose in the catalogue (`contact-discovery`).
public struct PurposeID: RawRepresentable, Hashable, Codable, Sendable, Comparable, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public static func < (lhs: PurposeID, rhs: PurposeID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The legal basis of a purpose, after PIPL art. 13(1) (GDPR art. 6(1)).
public enum LegalBasis: String, Codable, Sendable, CaseIterable {
    /// PIPL 13(1)(1): the person's consent, recorded in the consent ledger.
    case consent
    /// PIPL 13(1)(2): necessary to conclude or perform a contract the person is party to.
    case contract
    /// PIPL 13(1)(3): necessary to fulfil a statutory duty (for example CSL 21(3) security logs).
    case legalObligation = "legal-obligation"

    public var needsConsent: Bool { self == .consent }
}

/// Text in the two languages Kith's notices are published in.
public struct LocalizedText: Codable, Sendable, Equatable {
    public var zhCN: String
    public var en: String

    public init(zhCN: String, en: String) {
        self.zhCN = zhCN
        self.en = en
    }

    public func text(for locale: NoticeLocale) -> String {
        switch locale {
        case .zhCN: zhCN
        case .en: en
        }
    }

    enum CodingKeys: String, CodingKey {
        case zhCN = "zh-CN"
        case en
    }
}

/// A language a notice is published in.
public enum NoticeLocale: String, Codable, Sendable, CaseIterable {
    case zhCN = "zh-CN"
    case en
}

/// One purpose of processing: the unit consent is given for and the processing log records.
///
/// The catalogue of purposes is the record of processing activities as code (ACC-01, SEC-07, GEN-06).
public struct Purpose: Codable, Sendable, Equatable, Identifiable {
    public var id: PurposeID
    public var basis: LegalBasis
    /// The categories of personal information processed for this purpose.
    public var dataCategories: [String]
    /// How long the data processed for this purpose is kept, in days; `nil` while the account exists.
    public var retentionDays: Int?
    public var retention: LocalizedText
    public var title: LocalizedText
    /// What is done, how, and with what: the notice text describing this purpose.
    public var description: LocalizedText
    /// The notice version from which a consent must date to count: the version that introduced the
    /// purpose or last changed it materially (ACC-06).
    public var consentRequiredSince: Int

    public init(
        id: PurposeID,
        basis: LegalBasis,
        dataCategories: [String],
        retentionDays: Int?,
        retention: LocalizedText,
        title: LocalizedText,
        description: LocalizedText,
        consentRequiredSince: Int = 1
    ) {
        self.id = id
        self.basis = basis
        self.dataCategories = dataCategories
        self.retentionDays = retentionDays
        self.retention = retention
        self.title = title
        self.description = description
        self.consentRequiredSince = consentRequiredSince
    }

    /// The exact text of the consent control for this purpose, whose SHA-256 consent evidence carries.
    public func consentText(_ locale: NoticeLocale) -> String {
        title.text(for: locale) + "\n\n" + description.text(for: locale)
    }
}
