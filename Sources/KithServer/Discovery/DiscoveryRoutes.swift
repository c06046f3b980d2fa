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
        if let position = numbers.firstIndex(where: { $0.unicodeScalars.count > 40 }) {
            throw KithError.invalid("numbers[\(position)]", "An entry has at most 40 characters.")
        }
        if let position = previousNumbers?.firstIndex(where: { $0.unicodeScalars.count > 40 }) {
            throw KithError.invalid("previousNumbers[\(position)]", "An entry has at most 40 characters.")
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
    enum Action: String, Codable, Sendable {
        case suppress
        case inquire
    }

    var verificationId: String
    var code: String
    var action: Action

    func validate() throws {
        guard verificationId.unicodeScalars.count <= 64 else {
            throw KithError.invalid("verificationId", "This is not a verification ID.")
        }
    }
}

struct OptOutResponse: Codable, Sendable {
    var action: String
    var suppressed: Bool
    var registeredAccount: Bool
    /// Everything Kith holds about the number, by category.
    var held: [String]
}

/// `uploadContacts`, `deleteMyContacts`, `getDiscoverability`, `setDiscoverability`,
/// `startNumberOptOut`, `confirmNumberOptOut` (CON-01..08, DSR-10).
struct DiscoveryRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.post, "/v1/me/contacts/matches", "uploadContacts") { request, context in
            let principal = try context.requirePrincipal()
            let body = try await request.decodeStrict(UploadContactsBody.self, context: context, maxBytes: 1 << 20)
            try await RateLimiter(store: services.store).take(
                "discovery-ip:" + services.store.vault.keyedDigest("ip", context.clientAddress),
                limit: services.rateLimits.discoveryUploadsPerAddress
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
            let principal = try context.requirePrincipal()
            let act = ProcessingAct(
                purpose: .contactDiscovery,
                actor: .user(principal.user),
                subject: principal.user,
                initiation: context.initiation("deleteMyContacts"),
                detail: "contact edges deleted"
            )
            // Deletion needs no consent: it is the person exercising a right, logged as such.
            let store = services.store
            let deleted = try await store.database.transaction { sql in
                let deleted = try await ContactDiscovery.deleteEdges(of: principal.user, on: sql)
                _ = try await ProcessingGate.append(act, basisRef: "deletion-request", store: store, on: sql)
                return deleted
            }
            return JSONResponse(DeletedContactsResponse(deleted: deleted))
        }

        api.add(.get, "/v1/me/discoverability", "getDiscoverability") { _, context in
            let principal = try context.requirePrincipal()
            return JSONResponse(try await discoverability(of: principal.user, locale: .zhCN))
        }

        api.add(.put, "/v1/me/discoverability", "setDiscoverability") { request, context in
            let principal = try context.requirePrincipal()
            let body = try await request.decodeStrict(
                DiscoverabilityBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            if body.discoverable {
                let evidence = try body.evidence(for: .discoverableByPhone)
                _ = try await ConsentLedger(store: services.store).grant(
                    evidence,
                    by: principal.user,
                    initiation: context.initiation("setDiscoverability")
                )
                return JSONResponse(try await discoverability(of: principal.user, locale: evidence.locale))
            }
            _ = try await services.withdraw(
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
            try await RateLimiter(store: services.store).take(
                "verify-ip:" + services.store.vault.keyedDigest("ip", context.clientAddress),
                limit: services.rateLimits.verifyPerAddress
            )
            let store = services.store
            let initiation = context.initiation("confirmNumberOptOut")
            let action = body.action
            let response = try await services.accounts.redeem(
                id: body.verificationId,
                code: body.code,
                kind: .numberOptOut
            ) {
                sql,
                phoneIndex,
                _,
                now in
                let registered =
                    try await sql.raw("SELECT id FROM users WHERE phone_index = \(bind: phoneIndex)").first() != nil
                var suppressed = try await NumberSuppressions.isSuppressed(phoneIndex, on: sql)
                let act = ProcessingAct(
                    purpose: .numberSuppression,
                    actor: .anonymous,
                    subject: nil,
                    initiation: initiation,
                    detail: action == .suppress ? "number suppressed" : "holdings inquiry answered"
                )
                let entry = try await ProcessingGate.append(
                    act,
                    basisRef: LegalBasis.legalObligation.rawValue,
                    store: store,
                    on: sql
                )
                if action == .suppress, !suppressed {
                    try await sql.raw(
                        "INSERT INTO number_suppressions (phone_index, created_at, evidence) VALUES (\(bind: phoneIndex), \(bind: now), \(bind: entry.evidence))"
                    ).run()
                    suppressed = true
                }
                var held: [String] = []
                if suppressed { held.append("suppression-entry: a keyed index of the number, nothing else") }
                if registered {
                    held.append(
                        "account: this number belongs to a Kith account; its holder can see everything in the app"
                    )
                }
                return OptOutResponse(
                    action: action.rawValue,
                    suppressed: suppressed,
                    registeredAccount: registered,
                    held: held
                )
            }
            return JSONResponse(response)
        }
    }

    func discoverability(of user: UserID, locale: NoticeLocale) async throws -> DiscoverabilityResponse {
        let store = services.store
        let (discoverable, reverse) = try await store.database.read { sql in
            let ledger = ConsentLedger(store: store)
            return (
                try await ledger.current(.discoverableByPhone, of: user, on: sql) != nil,
                try await ledger.current(.reverseContactSuggestions, of: user, on: sql) != nil
            )
        }
        let purpose = store.catalogue.purpose(.discoverableByPhone)!
        return DiscoverabilityResponse(
            discoverable: discoverable,
            reverseContactSuggestions: reverse,
            explanation: purpose.consentText(locale),
            noticeVersion: store.catalogue.current.version,
            consentTextSHA256: purpose.consentText(locale).sha256Hex
        )
    }
}
