import Hummingbird
import KithCore
import KithStore

struct GrantConsentBody: StrictDecodable {
    static let fields: Set<String> = ["purpose", "noticeVersion", "locale", "textSHA256", "initialState", "channel"]
    var purpose: PurposeID
    var noticeVersion: Int
    var locale: NoticeLocale
    var textSHA256: String
    var initialState: ConsentEvidence.ControlState
    var channel: ConsentEvidence.Channel

    func validate() throws {
        try validateEvidenceBounds(noticeVersion: noticeVersion, textSHA256: textSHA256)
    }

    var evidence: ConsentEvidence {
        ConsentEvidence(
            purpose: purpose,
            noticeVersion: noticeVersion,
            locale: locale,
            textSHA256: textSHA256,
            initialState: initialState,
            channel: channel
        )
    }
}

struct NoticePurpose: Codable, Sendable {
    var id: PurposeID
    var basis: LegalBasis
    var title: String
    var description: String
    var dataCategories: [String]
    var retention: String
    var retentionDays: Int?
    /// Present for consent purposes: the exact text of the control, and its hash.
    var consentText: String?
    var consentTextSHA256: String?
    var consentRequiredSince: Int
}

struct NoticeResponse: Codable, Sendable {
    var version: Int
    var locale: NoticeLocale
    var publishedOn: String
    var controller: String
    var contact: String
    var changeSummary: String
    var text: String
    var textSHA256: String
    var purposes: [NoticePurpose]
}

struct PurposeCatalogueResponse: Codable, Sendable {
    var noticeVersion: Int
    var purposes: [Purpose]
}

struct ConsentStatus: Codable, Sendable {
    var purpose: PurposeID
    var granted: Bool
    var consentId: String?
    /// True when an earlier consent exists but a newer notice changed the purpose (ACC-06).
    var needsRenewal: Bool
}

struct MyConsentsResponse: Codable, Sendable {
    var noticeVersion: Int
    var status: [ConsentStatus]
    var records: [ConsentRecord]
}

struct WithdrawResponse: Codable, Sendable {
    var purpose: PurposeID
    var withdrawn: Int
}

/// `getPrivacyNotice`, `listPurposes`, `grantConsent`, `withdrawConsent`, `listMyConsents`
/// (ACC-01, ACC-02, ACC-03, ACC-06, ACC-07, ACC-11).
struct ConsentRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.get, "/v1/privacy/notice", "getPrivacyNotice") { request, _ in
            let catalogue = services.store.catalogue
            let localeText = request.uri.queryParameters["locale"].map(String.init) ?? NoticeLocale.zhCN.rawValue
            guard let locale = NoticeLocale(rawValue: localeText) else {
                throw KithError.invalid("locale", "Use zh-CN or en.")
            }
            var notice = catalogue.current
            if let versionText = request.uri.queryParameters["version"] {
                guard let version = Int(versionText), let old = catalogue.notice(version: version) else {
                    throw KithError(.notFound, field: "version", detail: "There is no notice with this version.")
                }
                notice = old
            }
            let text = notice.text(locale)
            return JSONResponse(
                NoticeResponse(
                    version: notice.version,
                    locale: locale,
                    publishedOn: notice.publishedOn,
                    controller: notice.controller.text(for: locale),
                    contact: notice.contact,
                    changeSummary: notice.changeSummary.text(for: locale),
                    text: text,
                    textSHA256: text.sha256Hex,
                    purposes: notice.purposes.map { purpose in
                        let consentText = purpose.basis.needsConsent ? purpose.consentText(locale) : nil
                        return NoticePurpose(
                            id: purpose.id,
                            basis: purpose.basis,
                            title: purpose.title.text(for: locale),
                            description: purpose.description.text(for: locale),
                            dataCategories: purpose.dataCategories,
                            retention: purpose.retention.text(for: locale),
                            retentionDays: purpose.retentionDays,
                            consentText: consentText,
                            consentTextSHA256: consentText?.sha256Hex,
                            consentRequiredSince: purpose.consentRequiredSince
                        )
                    }
                )
            )
        }

        api.add(.get, "/v1/privacy/purposes", "listPurposes") { _, _ in
            let catalogue = services.store.catalogue
            return JSONResponse(
                PurposeCatalogueResponse(noticeVersion: catalogue.current.version, purposes: catalogue.current.purposes)
            )
        }

        api.add(.post, "/v1/me/consents", "grantConsent") { request, context in
            let principal = try context.requireUser()
            let body = try await request.decodeStrict(
                GrantConsentBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            let record = try await services.consents.grant(
                body.evidence,
                by: principal.user,
                initiation: context.initiation("grantConsent")
            )
            return JSONResponse(record, status: .created)
        }

        api.add(.delete, "/v1/me/consents/{purpose}", "withdrawConsent") { _, context in
            let principal = try context.requireUser()
            let purpose = PurposeID(rawValue: context.parameters.get("purpose") ?? "")
            let withdrawn = try await services.consents.withdraw(
                purpose,
                by: principal.user,
                initiation: context.initiation("withdrawConsent")
            )
            return JSONResponse(WithdrawResponse(purpose: purpose, withdrawn: withdrawn))
        }

        api.add(.get, "/v1/me/consents", "listMyConsents") { _, context in
            let principal = try context.requireUser()
            let records = try await services.consents.records(of: principal.user)
            let catalogue = services.store.catalogue
            let status = catalogue.current.purposes.filter(\.basis.needsConsent).map { purpose in
                let active = records.filter { $0.purpose == purpose.id && $0.withdrawnAt == nil }
                let current = active.last { catalogue.consentIsCurrent(for: purpose.id, givenUnder: $0.noticeVersion) }
                return ConsentStatus(
                    purpose: purpose.id,
                    granted: current != nil,
                    consentId: current?.id,
                    needsRenewal: current == nil && !active.isEmpty
                )
            }
            return JSONResponse(
                MyConsentsResponse(noticeVersion: catalogue.current.version, status: status, records: records)
            )
        }
    }
}
