import Hummingbird
import KithCore
import KithStore

struct UploadContactsBody: StrictDecodable {
    static let fields: Set<String> = ["numbers", "previousNumbers", "recheckToken"]
    var numbers: [String]
    var previousNumbers: [String]?
    var recheckToken: String?

    func validate() throws {
        guard numbers.count <= 10_000, (previousNumbers?.count ?? 0) <= 10_000 else {
            throw KithError.invalid("numbers", "Upload at most 10,000 numbers per list.")
        }
        if let position = numbers.firstIndex(where: { $0.unicodeScalars.count > 64 }) {
            throw KithError.invalid("numbers[\(position)]", "An entry has at most 64 characters.")
        }
        if let position = previousNumbers?.firstIndex(where: { $0.unicodeScalars.count > 64 }) {
            throw KithError.invalid("previousNumbers[\(position)]", "An entry has at most 64 characters.")
        }
        if let recheckToken, recheckToken.unicodeScalars.count > 128 {
            throw KithError.invalid("recheckToken", "This is not a recheck token.")
        }
    }
}

struct DiscoverabilityBody: StrictDecodable, ConsentSwitchBody {
    static let fields: Set<String> = [
        "discoverable", "noticeVersion", "locale", "textSHA256", "initialState", "channel",
    ]
    var discoverable: Bool
    var noticeVersion: Int?
    var locale: NoticeLocale?
    var textSHA256: String?
    var initialState: ConsentEvidence.ControlState?
    var channel: ConsentEvidence.Channel?

    func validate() throws {
        try validateEvidenceBounds(noticeVersion: noticeVersion, textSHA256: textSHA256)
    }
}

struct DiscoverabilityResponse: Codable, Sendable {
    var discoverable: Bool
    var reverseContactSuggestions: Bool
    /// The plain explanation shown next to the switch, with the hash a client binds its consent to.
    var explanation: String
    var noticeVersion: Int
    var consentTextSHA256: String
}

struct DeletedContactsResponse: Codable, Sendable {
    var deleted: Int
}

struct OptOutBody: StrictDecodable {
    static let fields: Set<String> = ["verificationId", "code", "action"]
    var verificationId: String
    var code: String
    var action: NumberSuppressions.Request

    func validate() throws {
        guard verificationId.unicodeScalars.count <= 64 else {
            throw KithError.invalid("verificationId", "This is not a verification ID.")
        }
    }
}

/// `uploadContacts`, `deleteMyContacts`, `getDiscoverability`, `setDiscoverability`,
/// `startNumberOptOut`, `confirmNumberOptOut` (CON-01..08, DSR-10).
struct DiscoveryRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.post, "/v1/me/contacts/matches", "uploadContacts") { request, context in
            let principal = try context.requireUser()
            let body = try await request.decodeStrict(UploadContactsBody.self, context: context, maxBytes: 1 << 20)
            try await RateLimiter(store: services.store).take(
                "discovery-ip:" + services.store.vault.keyedDigest("ip", context.clientAddress),
                limit: services.rateLimits.discoveryUploadsPerAddress,
                initiation: context.initiation("uploadContacts")
            )
            let result = try await services.discovery.match(
                uploader: principal.user,
                numbers: body.numbers,
                previousNumbers: body.previousNumbers ?? [],
                recheckToken: body.recheckToken,
                region: services.defaultRegion,
                initiation: context.initiation("uploadContacts")
            )
            return JSONResponse(result)
        }

        api.add(.delete, "/v1/me/contacts", "deleteMyContacts") { _, context in
            let principal = try context.requireUser()
            let deleted = try await services.discovery.deleteContacts(
                of: principal.user,
                initiation: context.initiation("deleteMyContacts")
            )
            return JSONResponse(DeletedContactsResponse(deleted: deleted))
        }

        // The consent text in the locale it will be granted under (`setDiscoverability` takes the locale).
        api.add(.get, "/v1/me/discoverability", "getDiscoverability") { request, context in
            let principal = try context.requireUser()
            return JSONResponse(try await discoverability(of: principal.user, locale: try request.locale()))
        }

        api.add(.put, "/v1/me/discoverability", "setDiscoverability") { request, context in
            let principal = try context.requireUser()
            let body = try await request.decodeStrict(
                DiscoverabilityBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            if body.discoverable {
                let evidence = try body.evidence(for: .discoverableByPhone)
                _ = try await services.consents.grant(
                    evidence,
                    by: principal.user,
                    initiation: context.initiation("setDiscoverability")
                )
                return JSONResponse(try await discoverability(of: principal.user, locale: evidence.locale))
            }
            _ = try await services.consents.withdraw(
                .discoverableByPhone,
                by: principal.user,
                initiation: context.initiation("setDiscoverability")
            )
            return JSONResponse(try await discoverability(of: principal.user, locale: body.locale ?? .zhCN))
        }

        api.add(.post, "/v1/number-opt-out/verifications", "startNumberOptOut") { request, context in
            let body = try await request.decodeStrict(
                StartVerificationBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            let started = try await services.sendCode(
                to: body.phone,
                kind: .numberOptOut,
                context: context,
                operation: "startNumberOptOut"
            )
            return JSONResponse(started, status: .accepted)
        }

        api.add(.post, "/v1/number-opt-out", "confirmNumberOptOut") { request, context in
            let body = try await request.decodeStrict(
                OptOutBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            guard body.code.count == 6, body.code.allSatisfy(\.isASCIIDigit), body.verificationId.count <= 64 else {
                throw KithError.invalid("code", "The code has 6 digits.")
            }
            try await services.limitCodeGuesses(context, operation: "confirmNumberOptOut")
            let response = try await NumberSuppressions(store: services.store).confirm(
                verificationId: body.verificationId,
                code: body.code,
                request: body.action,
                accounts: services.accounts,
                initiation: context.initiation("confirmNumberOptOut")
            )
            return JSONResponse(response)
        }
    }

    func discoverability(of user: UserID, locale: NoticeLocale) async throws -> DiscoverabilityResponse {
        let store = services.store
        let held = try await services.consents.currentPurposes(
            of: user,
            among: [.discoverableByPhone, .reverseContactSuggestions]
        )
        let purpose = store.catalogue.purpose(.discoverableByPhone)!
        return DiscoverabilityResponse(
            discoverable: held.contains(.discoverableByPhone),
            reverseContactSuggestions: held.contains(.reverseContactSuggestions),
            explanation: purpose.consentText(locale),
            noticeVersion: store.catalogue.current.version,
            consentTextSHA256: purpose.consentText(locale).sha256Hex
        )
    }
}
