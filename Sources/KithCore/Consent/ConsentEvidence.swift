/// What a client proves about the moment a person gave consent (ACC-02, ACC-11).
extension PurposeCatalogue {
    /// The evidence of a person shown `purpose`'s text of the current notice in `locale`, who ticked an
    /// unchecked box on `channel` (what seeding and tests grant with); `nil` for a purpose the notice lacks.
    public func evidenceAsShown(
        _ purpose: PurposeID,
        locale: NoticeLocale = .en,
        channel: ConsentEvidence.Channel = .web
    ) -> ConsentEvidence? {
        guard let shown = self.purpose(purpose) else { return nil }
        return ConsentEvidence(
            purpose: purpose,
            noticeVersion: current.version,
            locale: locale,
            textSHA256: shown.consentText(locale).sha256Hex,
            initialState: .unchecked,
            channel: channel
        )
    }
}

public struct ConsentEvidence: Codable, Sendable, Equatable {
    /// The state the consent control was in when it was first shown.
    public enum ControlState: String, Codable, Sendable {
        case unchecked
        case checked
    }

    /// Where the person gave consent.
    public enum Channel: String, Codable, Sendable, CaseIterable {
        case web
        case ios
        case android
        case api
    }

    public var purpose: PurposeID
    public var noticeVersion: Int
    public var locale: NoticeLocale
    /// Lower-case hex SHA-256 of the exact consent text shown (``Purpose/consentText(_:)``).
    public var textSHA256: String
    public var initialState: ControlState
    public var channel: Channel

    public init(
        purpose: PurposeID,
        noticeVersion: Int,
        locale: NoticeLocale,
        textSHA256: String,
        initialState: ControlState,
        channel: Channel
    ) {
        self.purpose = purpose
        self.noticeVersion = noticeVersion
        self.locale = locale
        self.textSHA256 = textSHA256
        self.initialState = initialState
        self.channel = channel
    }
}

/// The rules consent evidence must satisfy before it enters the ledger.
public enum ConsentPolicy {
    /// Checks consent evidence against the catalogue.
    ///
    /// - ACC-02: a control that was initially checked is not consent.
    /// - ACC-06: consent is given to the current notice; an older version's text is refused.
    /// - ACC-11: the text hash must be the hash of the text Kith served for that purpose and locale.
    /// - Throws: ``KithError`` naming the offending field.
    public static func validate(_ evidence: ConsentEvidence, in catalogue: PurposeCatalogue) throws {
        guard let purpose = catalogue.purpose(evidence.purpose) else {
            throw KithError.invalid("purpose", "There is no such purpose in the current privacy notice.")
        }
        guard purpose.basis.needsConsent else {
            throw KithError.invalid(
                "purpose",
                "This purpose does not rest on consent, so there is nothing to grant or withdraw."
            )
        }
        guard evidence.initialState == .unchecked else {
            throw KithError(
                .consentPrechecked,
                field: "initialState",
                detail: "Consent needs an unchecked control that the person ticked; a pre-checked box is not consent."
            )
        }
        guard evidence.noticeVersion == catalogue.current.version else {
            throw KithError(
                .noticeMismatch,
                field: "noticeVersion",
                detail: "Consent must be given to the current privacy notice; fetch it and show it again."
            )
        }
        guard evidence.textSHA256.lowercased() == purpose.consentText(evidence.locale).sha256Hex else {
            throw KithError(
                .noticeMismatch,
                field: "textSHA256",
                detail: "The hash does not match the consent text of this purpose in the current notice."
            )
        }
    }
}
