import Hummingbird
import KithCore
import KithStore

/// A consent switch as the settings screen shows it: state, the exact text, and what to bind consent to.
struct ConsentSwitch: Codable, Sendable {
    var on: Bool
    var purpose: PurposeID
    var text: String
    var textSHA256: String
    var noticeVersion: Int
}

struct SuggestionSettingsResponse: Codable, Sendable {
    /// Personalised people-you-may-know (PYM-02); off gives the plain, labelled list.
    var personalised: ConsentSwitch
    /// "Suggest to me people whose address books contain my number" (PYM-01).
    var reverseContactSuggestions: ConsentSwitch
    /// "People whose numbers I have may see me suggested, with that reason" (PYM-04).
    var suggestMeToMyContacts: ConsentSwitch
    /// Whether others may be shown this person as a suggestion (DSR-09).
    var suggestMeToOthers: Bool
    /// What personalisation reads and how to delete each (PYM-03). Kith stores no inferred tags: every
    /// suggestion is computed from these at request time.
    var personalisationData: [PersonalisationData]
}

/// One kind of data personalised suggestions use, and the operation that deletes it (PYM-03).
struct PersonalisationData: Codable, Sendable {
    var category: String
    var description: String
    var deleteWith: String

    static func all(_ locale: NoticeLocale) -> [PersonalisationData] {
        [
            PersonalisationData(
                category: "connections",
                description: LocalizedText(zhCN: "您的人脉（共同联系人）", en: "Your connections (mutual connections)")
                    .text(for: locale),
                deleteWith: "removeConnection"
            ),
            PersonalisationData(
                category: "contact-edges",
                description: LocalizedText(
                    zhCN: "通讯录匹配到的用户（未匹配的号码从不保存）",
                    en: "People your address book matched (unmatched numbers are never kept)"
                ).text(for: locale),
                deleteWith: "deleteMyContacts"
            ),
            PersonalisationData(
                category: "profile",
                description: LocalizedText(zhCN: "您填写的工作单位和学校", en: "The employer and school you entered")
                    .text(for: locale),
                deleteWith: "updateProfile"
            ),
        ]
    }
}

struct UpdateSuggestionSettingsBody: StrictDecodable, ConsentSwitchBody {
    static let fields: Set<String> = [
        "personalised", "reverseContactSuggestions", "suggestMeToMyContacts", "suggestMeToOthers", "noticeVersion",
        "locale", "textSHA256", "initialState", "channel",
    ]
    var personalised: Bool?
    var reverseContactSuggestions: Bool?
    var suggestMeToMyContacts: Bool?
    var suggestMeToOthers: Bool?
    var noticeVersion: Int?
    var locale: NoticeLocale?
    var textSHA256: String?
    var initialState: ConsentEvidence.ControlState?
    var channel: ConsentEvidence.Channel?

    func validate() throws {
        try validateEvidenceBounds(noticeVersion: noticeVersion, textSHA256: textSHA256)
        let turnedOn = [
            ("personalised", personalised), ("reverseContactSuggestions", reverseContactSuggestions),
            ("suggestMeToMyContacts", suggestMeToMyContacts),
        ].filter { $0.1 == true }
        if turnedOn.count > 1 {
            throw KithError.invalid(
                turnedOn[1].0,
                "Each of these is a separate consent to a text of its own: turn on one at a time."
            )
        }
    }
}

/// `listSuggestions`, `dismissSuggestion`, `explainSuggestion`, `getSuggestionSettings`,
/// `updateSuggestionSettings` (PYM-01..04, PYM-08, DSR-09).
struct SuggestionRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.get, "/v1/me/suggestions", "listSuggestions") { request, context in
            let user = try context.requireUser().user
            let limit = try request.limit(default: 10, maximum: 50)
            let locale = try request.locale()
            try await services.throttleRead(by: user, of: nil, context: context, operation: "listSuggestions")
            let list = try await services.suggestions.list(
                for: user,
                limit: limit,
                locale: locale,
                initiation: context.initiation("listSuggestions")
            )
            return JSONResponse(list)
        }

        api.add(.post, "/v1/me/suggestions/{userId}/dismissal", "dismissSuggestion") { _, context in
            let user = try context.requireUser().user
            try await services.network.dismiss(
                try context.userParameter(),
                by: user,
                initiation: context.initiation("dismissSuggestion")
            )
            return Response(status: .noContent)
        }

        api.add(.get, "/v1/me/suggestions/{userId}/explanation", "explainSuggestion") { request, context in
            let user = try context.requireUser().user
            let explainedUser = try context.userParameter()
            let locale = try request.locale()
            try await services.throttleRead(
                by: user,
                of: explainedUser,
                context: context,
                operation: "explainSuggestion"
            )
            guard
                let explained = try await services.suggestions.explain(
                    explainedUser,
                    for: user,
                    locale: locale,
                    initiation: context.initiation("explainSuggestion")
                )
            else {
                throw KithError(.notFound, field: "userId", detail: "This person is not among your suggestions.")
            }
            return JSONResponse(explained)
        }

        api.add(.get, "/v1/me/suggestion-settings", "getSuggestionSettings") { request, context in
            let user = try context.requireUser().user
            return JSONResponse(try await settings(of: user, locale: try request.locale()))
        }

        api.add(.put, "/v1/me/suggestion-settings", "updateSuggestionSettings") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(
                UpdateSuggestionSettingsBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            var changes: [SuggestionSettingChange] = []
            for (purpose, on) in [
                (PurposeID.personalisedSuggestions, body.personalised),
                (.reverseContactSuggestions, body.reverseContactSuggestions),
                (.suggestMeToMyContacts, body.suggestMeToMyContacts),
            ] {
                guard let on else { continue }
                changes.append(on ? .grant(try body.evidence(for: purpose)) : .withdraw(purpose))
            }
            if let suggestable = body.suggestMeToOthers { changes.append(.suggestMeToOthers(suggestable)) }
            try await services.suggestions.change(
                changes,
                of: user,
                initiation: context.initiation("updateSuggestionSettings")
            )
            return JSONResponse(try await settings(of: user, locale: body.locale ?? .zhCN))
        }
    }

    func settings(of user: UserID, locale: NoticeLocale) async throws -> SuggestionSettingsResponse {
        let store = services.store
        let switches = try await services.suggestions.switches(of: user)
        func consentSwitch(_ purpose: PurposeID, _ on: Bool) -> ConsentSwitch {
            let text = store.catalogue.purpose(purpose)?.consentText(locale) ?? ""
            return ConsentSwitch(
                on: on,
                purpose: purpose,
                text: text,
                textSHA256: text.sha256Hex,
                noticeVersion: store.catalogue.current.version
            )
        }
        return SuggestionSettingsResponse(
            personalised: consentSwitch(.personalisedSuggestions, switches.personalised),
            reverseContactSuggestions: consentSwitch(.reverseContactSuggestions, switches.reverseContactSuggestions),
            suggestMeToMyContacts: consentSwitch(.suggestMeToMyContacts, switches.suggestMeToMyContacts),
            suggestMeToOthers: switches.suggestMeToOthers,
            personalisationData: PersonalisationData.all(locale)
        )
    }
}
