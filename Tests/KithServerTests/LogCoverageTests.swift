import Foundation
import HTTPTypes
import KithCore
import KithServer
import KithTestSupport
import SQLKit
import Synchronization
import Testing

@testable import KithStore

/// What a successful call of an operation writes to the processing log, and whom its entries name
/// (SEC-01, ACC-11). People are named by their log pseudonyms; "the caller" is the signed-in person
/// (for `verifyPhone`, the person it signs in).
enum LoggedSubjects: String, Sendable, CustomStringConvertible {
    /// No entry: a public read, or a person reading their own or another's data. Reads are checked by
    /// the access policy but not logged one view at a time, by design: a who-viewed-whom trail would
    /// itself be a new profile of people.
    case none
    /// Entries by the caller about the caller only: their own writes, security events, and the
    /// read-side derivations about third parties that are logged once per request naming the viewer.
    case actor
    /// Entries by the caller about the caller and about the other person the act is about, so that
    /// person's own entries show what was done about them.
    case actorAndOther
    /// Entries by the uploader about themself and about each account the upload found, none about a
    /// number that matched no one.
    case actorAndFound
    /// Entries by `anonymous`, naming the account of the number a code is for, or no one.
    case anonymous
    /// An operator's entry, about the person the data read concerns.
    case operatorAboutSubject
    /// An operator's entries, each about one of the people the act reached, and a summary about no one
    /// (a campaign: one authorisation per recipient, then the counts).
    case operatorAboutEach
    /// Entries by the caller about the caller, then the system's erasure of the account, naming no one
    /// (DSR-04): after it the caller's pseudonym links to no one.
    case actorThenErasure

    var description: String { rawValue }
}

/// One successful call of an operation, prepared: the people it concerns and the call itself.
struct LogCoverageDrive: Sendable {
    /// The signed-in caller's user ID; `nil` for an anonymous caller or when the reply names them.
    var caller: String?
    /// The other people the act is about (the person asked, blocked, endorsed, found, the account of a
    /// number, the person an operator read about).
    var about: [String] = []
    /// The status of a successful call.
    var status: HTTPResponse.Status
    /// Take the caller from the reply's `userId` (`verifyPhone`: the person exists only afterwards).
    var callerFromReply = false
    /// What must never be in an entry beyond the numbers and codes of the outbox and every user ID:
    /// bearer tokens, verification IDs, profile values, tag texts.
    var secrets: [String] = []
    var call: @Sendable () async throws -> TestApp.Reply
}

/// One scenario of a row: what it sets up, and the call it then makes.
struct LogCoverageVariant: Sendable {
    var name: String
    var prepare: @Sendable (TestApp) async throws -> LogCoverageDrive

    init(_ name: String, _ prepare: @escaping @Sendable (TestApp) async throws -> LogCoverageDrive) {
        self.name = name
        self.prepare = prepare
    }
}

/// A row of the table: an operation, what a successful call logs, and one or more scenarios that make
/// it succeed.
struct LogCoverageRow: Sendable {
    var operationId: String
    var logs: LoggedSubjects
    var variants: [LogCoverageVariant]

    init(_ operationId: String, _ logs: LoggedSubjects, _ variants: [LogCoverageVariant]) {
        self.operationId = operationId
        self.logs = logs
        self.variants = variants
    }

    init(
        _ operationId: String,
        _ logs: LoggedSubjects,
        _ prepare: @escaping @Sendable (TestApp) async throws -> LogCoverageDrive
    ) {
        self.init(operationId, logs, [LogCoverageVariant("", prepare)])
    }
}

@Suite("What the processing log records, operation by operation (SEC-01, ACC-11)")
struct LogCoverageTests {
    /// One row per operation of the contract. A new operation without a row fails
    /// ``everyOperationStatesWhatItLogs(backend:)``: its author states what it logs.
    static let rows: [LogCoverageRow] = [
        // MARK: Accounts
        LogCoverageRow(
            "startPhoneVerification",
            .anonymous,
            [
                LogCoverageVariant("a registered number") { app in
                    let ann = try await app.person(1)
                    return LogCoverageDrive(caller: nil, about: [ann.id], status: .accepted, secrets: [ann.token]) {
                        try await app.call(.post, "/v1/auth/verifications", json: ["phone": ann.phone])
                    }
                },
                LogCoverageVariant("a new number") { app in
                    LogCoverageDrive(caller: nil, status: .accepted) {
                        try await app.call(.post, "/v1/auth/verifications", json: ["phone": Self.newNumber])
                    }
                },
            ]
        ),
        LogCoverageRow("verifyPhone", .actor) { app in
            let started = try await app.call(.post, "/v1/auth/verifications", json: ["phone": Self.newNumber])
            let id = try #require(started.string("verificationId"))
            let code = try #require(app.lastCode(to: Self.newNumber))
            return LogCoverageDrive(caller: nil, status: .created, callerFromReply: true, secrets: [id]) {
                try await app.call(.post, "/v1/auth/sessions", json: ["verificationId": id, "code": code])
            }
        },
        LogCoverageRow("signOut", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .noContent, secrets: [ann.token]) {
                try await app.call(.delete, "/v1/auth/sessions/current", token: ann.token)
            }
        },
        LogCoverageRow("getMe", .none) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.call(.get, "/v1/me", token: ann.token)
            }
        },
        LogCoverageRow("startPhoneNumberChange", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .accepted, secrets: [ann.token]) {
                try await app.call(
                    .post,
                    "/v1/me/phone-number/verifications",
                    token: ann.token,
                    json: ["phone": Self.newNumber]
                )
            }
        },
        LogCoverageRow("changePhoneNumber", .actor) { app in
            let ann = try await app.person(1)
            let started = try await app.call(
                .post,
                "/v1/me/phone-number/verifications",
                token: ann.token,
                json: ["phone": Self.newNumber]
            )
            let id = try #require(started.string("verificationId"))
            let code = try #require(app.lastCode(to: Self.newNumber))
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token, id]) {
                try await app.call(
                    .put,
                    "/v1/me/phone-number",
                    token: ann.token,
                    json: ["verificationId": id, "code": code]
                )
            }
        },
        LogCoverageRow("setRegistrationLock", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .noContent, secrets: [ann.token, "20261201"]) {
                try await app.call(.put, "/v1/me/registration-lock", token: ann.token, json: ["pin": "20261201"])
            }
        },
        LogCoverageRow("removeRegistrationLock", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .noContent, secrets: [ann.token]) {
                try await app.call(.delete, "/v1/me/registration-lock", token: ann.token)
            }
        },

        // MARK: Data rights
        LogCoverageRow("exportMyData", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.call(.get, "/v1/me/export", token: ann.token)
            }
        },
        LogCoverageRow("submitDataRequest", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(
                caller: ann.id,
                status: .created,
                secrets: [ann.token, "Why was I suggested to Bo?"]
            ) {
                try await app.call(
                    .post,
                    "/v1/me/data-requests",
                    token: ann.token,
                    json: ["kind": "explanation", "text": "Why was I suggested to Bo?"]
                )
            }
        },
        LogCoverageRow("getExportSchema", .none) { app in
            LogCoverageDrive(caller: nil, status: .ok) { try await app.call(.get, "/schemas/export-v1.json") }
        },
        LogCoverageRow("startAccountDeletion", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .accepted, secrets: [ann.token]) {
                try await app.call(.post, "/v1/me/deletion/verifications", token: ann.token)
            }
        },
        LogCoverageRow("deleteMyAccount", .actorThenErasure) { app in
            let ann = try await app.person(1)
            let started = try await app.call(.post, "/v1/me/deletion/verifications", token: ann.token)
            let id = try #require(started.string("verificationId"))
            let code = try #require(app.lastCode(to: ann.phone))
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token, id]) {
                try await app.call(
                    .post,
                    "/v1/me/deletion",
                    token: ann.token,
                    json: ["verificationId": id, "code": code]
                )
            }
        },
        LogCoverageRow("getAccountDeletionStatus", .none) { app in
            let ann = try await app.person(1)
            let deletion = try await app.deleteAccount(ann)
            return LogCoverageDrive(caller: nil, status: .ok, secrets: [ann.token]) {
                try await app.call(.get, "/v1/account-deletions/\(deletion)")
            }
        },

        // MARK: Notice and consent
        LogCoverageRow("getPrivacyNotice", .none) { app in
            LogCoverageDrive(caller: nil, status: .ok) { try await app.call(.get, "/v1/privacy/notice?locale=en") }
        },
        LogCoverageRow("listPurposes", .none) { app in
            LogCoverageDrive(caller: nil, status: .ok) { try await app.call(.get, "/v1/privacy/purposes") }
        },
        LogCoverageRow("listMyConsents", .none) { app in
            let ann = try await app.person(1)
            try await app.grant(.contactDiscovery, token: ann.token)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.call(.get, "/v1/me/consents", token: ann.token)
            }
        },
        LogCoverageRow("grantConsent", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .created, secrets: [ann.token]) {
                try await app.grant(.contactDiscovery, token: ann.token)
            }
        },
        LogCoverageRow("withdrawConsent", .actor) { app in
            let ann = try await app.person(1)
            try await app.grant(.contactDiscovery, token: ann.token)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.call(.delete, "/v1/me/consents/contact-discovery", token: ann.token)
            }
        },

        // MARK: Contact discovery
        LogCoverageRow("uploadContacts", .actorAndFound) { app in
            let uploader = try await app.person(1)
            let found = try await app.person(2)
            try await DiscoveryTests.makeDiscoverable(app, token: found.token)
            try await app.grant(.contactDiscovery, token: uploader.token)
            return LogCoverageDrive(
                caller: uploader.id,
                about: [found.id],
                status: .ok,
                secrets: [uploader.token, found.token, Self.nonUserNumber]
            ) {
                try await DiscoveryTests.upload(app, token: uploader.token, [found.phone, Self.nonUserNumber])
            }
        },
        LogCoverageRow("deleteMyContacts", .actor) { app in
            let uploader = try await app.person(1)
            let found = try await app.person(2)
            try await DiscoveryTests.makeDiscoverable(app, token: found.token)
            try await app.grant(.contactDiscovery, token: uploader.token)
            _ = try await DiscoveryTests.upload(app, token: uploader.token, [found.phone])
            return LogCoverageDrive(caller: uploader.id, status: .ok, secrets: [uploader.token, found.token]) {
                try await app.call(.delete, "/v1/me/contacts", token: uploader.token)
            }
        },
        LogCoverageRow("getDiscoverability", .none) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.call(.get, "/v1/me/discoverability", token: ann.token)
            }
        },
        LogCoverageRow("setDiscoverability", .actor) { app in
            let ann = try await app.person(1)
            let state = try await app.call(.get, "/v1/me/discoverability", token: ann.token)
            let version = try #require(state.json["noticeVersion"] as? Int)
            let hash = try #require(state.string("consentTextSHA256"))
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.call(
                    .put,
                    "/v1/me/discoverability",
                    token: ann.token,
                    json: [
                        "discoverable": true, "noticeVersion": version, "locale": "zh-CN", "textSHA256": hash,
                        "initialState": "unchecked", "channel": "android",
                    ]
                )
            }
        },
        LogCoverageRow("startNumberOptOut", .anonymous) { app in
            LogCoverageDrive(caller: nil, status: .accepted) {
                try await app.call(.post, "/v1/number-opt-out/verifications", json: ["phone": Self.nonUserNumber])
            }
        },
        LogCoverageRow("confirmNumberOptOut", .anonymous) { app in
            let started = try await app.call(
                .post,
                "/v1/number-opt-out/verifications",
                json: ["phone": Self.nonUserNumber]
            )
            let id = try #require(started.string("verificationId"))
            let body = try #require(app.outboxMessages().last { $0["kind"] == "number-opt-out" }?["body"])
            let code = try #require(Self.codes(in: body).first)
            return LogCoverageDrive(caller: nil, status: .ok, secrets: [id]) {
                try await app.call(
                    .post,
                    "/v1/number-opt-out",
                    json: ["verificationId": id, "code": code, "action": "suppress"]
                )
            }
        },

        // MARK: Profiles
        LogCoverageRow("getProfile", .none) { app in
            let ann = try await app.person(1, name: "Annelore")
            let bob = try await app.person(2)
            return LogCoverageDrive(caller: bob.id, about: [ann.id], status: .ok, secrets: [bob.token, "Annelore"]) {
                try await app.call(.get, "/v1/users/\(ann.id)/profile", token: bob.token)
            }
        },
        LogCoverageRow("updateProfile", .actor) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token, "Annelore", "Zyxwv Labs"]) {
                try await app.call(
                    .patch,
                    "/v1/me/profile",
                    token: ann.token,
                    json: ["displayName": "Annelore", "employer": "Zyxwv Labs"]
                )
            }
        },

        // MARK: Connections
        LogCoverageRow("requestConnection", .actorAndOther) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            return LogCoverageDrive(caller: ann.id, about: [bob.id], status: .created, secrets: [ann.token]) {
                try await app.call(.post, "/v1/me/connection-requests", token: ann.token, json: ["userId": bob.id])
            }
        },
        LogCoverageRow("listConnectionRequests", .none) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            _ = try await app.call(.post, "/v1/me/connection-requests", token: ann.token, json: ["userId": bob.id])
            return LogCoverageDrive(caller: bob.id, status: .ok, secrets: [bob.token]) {
                try await app.call(.get, "/v1/me/connection-requests", token: bob.token)
            }
        },
        LogCoverageRow("respondToConnection", .actorAndOther) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            let asked = try await app.call(
                .post,
                "/v1/me/connection-requests",
                token: ann.token,
                json: ["userId": bob.id]
            )
            let id = try #require(asked.string("requestId"))
            return LogCoverageDrive(caller: bob.id, about: [ann.id], status: .ok, secrets: [bob.token]) {
                try await app.call(
                    .post,
                    "/v1/me/connection-requests/\(id)",
                    token: bob.token,
                    json: ["action": "accept"]
                )
            }
        },
        LogCoverageRow("removeConnection", .actorAndOther) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            try await app.connect(ann, bob)
            return LogCoverageDrive(caller: ann.id, about: [bob.id], status: .noContent, secrets: [ann.token]) {
                try await app.call(.delete, "/v1/me/connections/\(bob.id)", token: ann.token)
            }
        },
        LogCoverageRow("listConnections", .none) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            let cat = try await app.person(3)
            try await app.connect(ann, bob)
            try await app.connect(ann, cat)
            return LogCoverageDrive(caller: bob.id, about: [ann.id], status: .ok, secrets: [bob.token]) {
                try await app.call(.get, "/v1/users/\(ann.id)/connections", token: bob.token)
            }
        },
        LogCoverageRow("blockUser", .actorAndOther) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            try await app.connect(ann, bob)
            return LogCoverageDrive(caller: ann.id, about: [bob.id], status: .noContent, secrets: [ann.token]) {
                try await app.call(.post, "/v1/me/blocks", token: ann.token, json: ["userId": bob.id])
            }
        },
        LogCoverageRow("unblockUser", .actorAndOther) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            _ = try await app.call(.post, "/v1/me/blocks", token: ann.token, json: ["userId": bob.id])
            return LogCoverageDrive(caller: ann.id, about: [bob.id], status: .noContent, secrets: [ann.token]) {
                try await app.call(.delete, "/v1/me/blocks/\(bob.id)", token: ann.token)
            }
        },
        LogCoverageRow("listSecondDegree", .actor) { app in
            let (viewer, _) = try await Self.network(app)
            return LogCoverageDrive(caller: viewer.id, status: .ok, secrets: [viewer.token]) {
                try await app.call(.get, "/v1/me/network/second-degree", token: viewer.token)
            }
        },

        // MARK: Endorsements
        LogCoverageRow("endorse", .actorAndOther) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            try await app.connect(ann, bob)
            return LogCoverageDrive(caller: ann.id, about: [bob.id], status: .created, secrets: [ann.token, Self.tag]) {
                try await app.call(
                    .post,
                    "/v1/users/\(bob.id)/endorsements",
                    token: ann.token,
                    json: ["text": Self.tag]
                )
            }
        },
        // Hiding or deleting an endorsement on one's own profile names the endorsed person only, not the
        // endorser whose act it was.
        LogCoverageRow("hideEndorsement", .actor) { app in
            let (bob, id) = try await Self.endorsed(app)
            return LogCoverageDrive(caller: bob.id, status: .noContent, secrets: [bob.token, Self.tag]) {
                try await app.call(.patch, "/v1/me/endorsements/\(id)", token: bob.token, json: ["hidden": true])
            }
        },
        LogCoverageRow("deleteEndorsement", .actor) { app in
            let (bob, id) = try await Self.endorsed(app)
            return LogCoverageDrive(caller: bob.id, status: .noContent, secrets: [bob.token, Self.tag]) {
                try await app.call(.delete, "/v1/me/endorsements/\(id)", token: bob.token)
            }
        },

        // MARK: People you may know
        LogCoverageRow(
            "listSuggestions",
            .actor,
            [
                LogCoverageVariant("plain") { app in
                    let (viewer, _) = try await Self.network(app)
                    return LogCoverageDrive(caller: viewer.id, status: .ok, secrets: [viewer.token]) {
                        try await app.call(.get, "/v1/me/suggestions?locale=en", token: viewer.token)
                    }
                },
                LogCoverageVariant("personalised") { app in
                    let (viewer, _) = try await Self.network(app)
                    try await app.consentTo("personalised", viewer)
                    return LogCoverageDrive(caller: viewer.id, status: .ok, secrets: [viewer.token]) {
                        try await app.call(.get, "/v1/me/suggestions?locale=en", token: viewer.token)
                    }
                },
            ]
        ),
        // The dismissed person is not named: they do not learn from their entries that someone dismissed them.
        LogCoverageRow("dismissSuggestion", .actor) { app in
            let (viewer, target) = try await Self.network(app)
            try await app.consentTo("personalised", viewer)
            return LogCoverageDrive(caller: viewer.id, status: .noContent, secrets: [viewer.token]) {
                try await app.call(.post, "/v1/me/suggestions/\(target.id)/dismissal", token: viewer.token)
            }
        },
        // One derivation naming the viewer, as for the list; the person explained is not named (the doc
        // comment of `PeopleYouMayKnow.explain` says they are).
        LogCoverageRow(
            "explainSuggestion",
            .actor,
            [
                LogCoverageVariant("plain") { app in
                    let (viewer, _) = try await Self.network(app)
                    let suggested = try #require(try await app.suggestions(viewer).ids.first)
                    return LogCoverageDrive(caller: viewer.id, status: .ok, secrets: [viewer.token]) {
                        try await app.call(
                            .get,
                            "/v1/me/suggestions/\(suggested)/explanation?locale=en",
                            token: viewer.token
                        )
                    }
                },
                LogCoverageVariant("personalised") { app in
                    let (viewer, target) = try await Self.network(app)
                    try await app.consentTo("personalised", viewer)
                    return LogCoverageDrive(caller: viewer.id, status: .ok, secrets: [viewer.token]) {
                        try await app.call(
                            .get,
                            "/v1/me/suggestions/\(target.id)/explanation?locale=en",
                            token: viewer.token
                        )
                    }
                },
            ]
        ),
        LogCoverageRow("getSuggestionSettings", .none) { app in
            let ann = try await app.person(1)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.call(.get, "/v1/me/suggestion-settings?locale=en", token: ann.token)
            }
        },
        LogCoverageRow("updateSuggestionSettings", .actor) { app in
            let ann = try await app.person(1)
            let settings = try await app.call(.get, "/v1/me/suggestion-settings?locale=en", token: ann.token)
            let control = try #require(settings.json["personalised"] as? [String: Any])
            let version = try #require(control["noticeVersion"] as? Int)
            let hash = try #require(control["textSHA256"] as? String)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token]) {
                try await app.setSuggestions(
                    ann,
                    [
                        "personalised": true, "suggestMeToOthers": false, "noticeVersion": version, "locale": "en",
                        "textSHA256": hash, "initialState": "unchecked", "channel": "ios",
                    ]
                )
            }
        },

        // MARK: Messages
        LogCoverageRow("previewInvitation", .actor) { app in
            let ann = try await app.person(1, name: "Ann")
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token, Self.nonUserNumber]) {
                try await app.call(
                    .post,
                    "/v1/me/invitations/previews",
                    token: ann.token,
                    json: ["phone": Self.nonUserNumber]
                )
            }
        },
        LogCoverageRow("sendInvitation", .actor) { app in
            let ann = try await app.person(1, name: "Ann")
            let preview = try await app.call(
                .post,
                "/v1/me/invitations/previews",
                token: ann.token,
                json: ["phone": Self.nonUserNumber]
            )
            let token = try #require(preview.string("previewToken"))
            return LogCoverageDrive(caller: ann.id, status: .created, secrets: [ann.token, token, Self.nonUserNumber]) {
                try await app.call(
                    .post,
                    "/v1/me/invitations",
                    token: ann.token,
                    json: ["previewToken": token, "clientActionId": "tap-1"]
                )
            }
        },
        LogCoverageRow("listMyInvitations", .none) { app in
            let ann = try await app.person(1, name: "Ann")
            _ = try await app.invite(ann, Self.nonUserNumber)
            return LogCoverageDrive(caller: ann.id, status: .ok, secrets: [ann.token, Self.nonUserNumber]) {
                try await app.call(.get, "/v1/me/invitations", token: ann.token)
            }
        },
        LogCoverageRow("receiveInboundMessage", .anonymous) { app in
            LogCoverageDrive(caller: nil, status: .noContent, secrets: [Self.nonUserNumber]) {
                try await app.inbound(from: Self.nonUserNumber, text: "STOP")
            }
        },
        LogCoverageRow("optOutFromMessages", .anonymous) { app in
            let ann = try await app.person(1, name: "Ann")
            let sent = try #require(try await app.invite(ann, Self.nonUserNumber).sent)
            let link = try #require((sent.json["invitation"] as? [String: Any])?["link"] as? String)
            let code = String(try #require(link.split(separator: "/").last))
            return LogCoverageDrive(caller: nil, status: .noContent, secrets: [ann.token, code, Self.nonUserNumber]) {
                try await app.call(.post, "/v1/message-opt-outs", json: ["linkCode": code])
            }
        },

        LogCoverageRow("unsubscribeMarketing", .actor) { app in
            let ann = try await app.person(1, name: "Ann")
            _ = try await app.grant(.marketing, token: ann.token)
            return LogCoverageDrive(caller: ann.id, status: .noContent, secrets: [ann.token]) {
                try await app.call(.post, "/v1/me/marketing/unsubscription", token: ann.token)
            }
        },
        LogCoverageRow("sendMarketingCampaign", .operatorAboutEach) { app in
            let ann = try await app.person(1, name: "Ann")
            _ = try await app.grant(.marketing, token: ann.token)
            let credential = try await app.services.operators.create(
                name: "marketing",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            return LogCoverageDrive(
                caller: nil,
                about: [ann.id],
                status: .created,
                secrets: [ann.token, credential.token]
            ) {
                try await app.call(
                    .post,
                    "/v1/operator/marketing-campaigns",
                    token: credential.token,
                    json: ["text": "Kith now suggests people from your school."]
                )
            }
        },

        // MARK: Partners
        // A partner's codes and their counts are about no one: nothing is logged.
        LogCoverageRow("createReferralCode", .none) { app in
            let partner = try await app.services.partners.create(
                name: "store.log",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            return LogCoverageDrive(caller: nil, status: .created, secrets: [partner.token]) {
                try await app.call(.post, "/v1/partner/referral-codes", token: partner.token)
            }
        },
        LogCoverageRow("getReferralStats", .none) { app in
            let partner = try await app.services.partners.create(
                name: "store.log",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            return LogCoverageDrive(caller: nil, status: .ok, secrets: [partner.token]) {
                try await app.call(.get, "/v1/partner/referral-codes", token: partner.token)
            }
        },

        // MARK: Operations
        LogCoverageRow("health", .none) { app in
            LogCoverageDrive(caller: nil, status: .ok) { try await app.call(.get, "/health") }
        },
        LogCoverageRow("getMetrics", .none) { app in
            LogCoverageDrive(caller: nil, status: .ok) { try await app.call(.get, "/metrics") }
        },
        LogCoverageRow("getOpenAPIDocument", .none) { app in
            LogCoverageDrive(caller: nil, status: .ok) { try await app.call(.get, "/openapi.yaml") }
        },

        // MARK: Operators
        LogCoverageRow("getMessageEvidence", .operatorAboutSubject) { app in
            let ann = try await app.person(1)
            _ = try await app.call(.post, "/v1/auth/verifications", json: ["phone": ann.phone])
            let message = try #require(app.outboxMessages().last?["messageId"])
            let credential = try await app.services.operators.create(
                name: "dpo.audit",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            return LogCoverageDrive(caller: nil, about: [ann.id], status: .ok, secrets: [ann.token, credential.token]) {
                try await app.call(.get, "/v1/operator/messages/\(message)/evidence", token: credential.token)
            }
        },
        LogCoverageRow("listDataRequests", .operatorAboutSubject) { app in
            let ann = try await app.person(1)
            _ = try await app.call(
                .post,
                "/v1/me/data-requests",
                token: ann.token,
                json: ["kind": "other", "text": "Please check my data."]
            )
            let credential = try await app.services.operators.create(
                name: "dpo.audit",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            // A count, about no one: reading the queue is not an act about each requester.
            return LogCoverageDrive(caller: nil, about: [], status: .ok, secrets: [ann.token, credential.token]) {
                try await app.call(.get, "/v1/operator/data-requests?status=open", token: credential.token)
            }
        },
        LogCoverageRow("resolveDataRequest", .operatorAboutSubject) { app in
            let ann = try await app.person(1)
            let submitted = try await app.call(
                .post,
                "/v1/me/data-requests",
                token: ann.token,
                json: ["kind": "other", "text": "Please check my data."]
            )
            let id = try #require(submitted.string("requestId"))
            let credential = try await app.services.operators.create(
                name: "dpo.audit",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            return LogCoverageDrive(
                caller: nil,
                about: [ann.id],
                status: .ok,
                secrets: [ann.token, credential.token, "Checked: all is in order."]
            ) {
                try await app.call(
                    .post,
                    "/v1/operator/data-requests/\(id)/resolution",
                    token: credential.token,
                    json: ["outcome": "answered", "text": "Checked: all is in order."]
                )
            }
        },
        LogCoverageRow("verifyErasure", .operatorAboutSubject) { app in
            let ann = try await app.person(1)
            _ = try await app.deleteAccount(ann)
            let credential = try await app.services.operators.create(
                name: "dpo.audit",
                initiation: Initiation(kind: .operatorCommand, action: "test")
            )
            // About no one: the person is erased, and the operator's check names them nowhere.
            return LogCoverageDrive(caller: nil, about: [], status: .ok, secrets: [ann.token, credential.token]) {
                try await app.call(
                    .post,
                    "/v1/operator/erasure-verifications",
                    token: credential.token,
                    json: ["userId": ann.id, "phone": ann.phone]
                )
            }
        },
    ]

    /// A number no one has registered in the scenario (`TestApp.person` numbers are 138 0004 00nn).
    static let newNumber = "+8613800070001"
    /// A number that belongs to no account, uploaded or opted out.
    static let nonUserNumber = "+8613800070002"
    /// An endorsement tag of one's own words: personal data about the endorsed person.
    static let tag = "Kennt Swift wie kein Zweiter"

    /// A viewer, two connections of theirs, and a target two steps away through both; the target shows
    /// their name to everyone and is the most connected, so it is suggested plain and personalised.
    static func network(_ app: TestApp) async throws -> (viewer: TestApp.Person, target: TestApp.Person) {
        let viewer = try await app.person(1, name: "Vera")
        let first = try await app.person(2, name: "Mo")
        let second = try await app.person(3, name: "Mia")
        let target = try await app.person(4, name: "Tess")
        try await app.connect(viewer, first)
        try await app.connect(viewer, second)
        try await app.connect(first, target)
        try await app.connect(second, target)
        try await app.connect(target, try await app.person(5, name: "Pia"))
        return (viewer, target)
    }

    /// Ann endorses Bob with ``tag``: Bob and the endorsement's ID.
    static func endorsed(_ app: TestApp) async throws -> (TestApp.Person, String) {
        let ann = try await app.person(1)
        let bob = try await app.person(2)
        try await app.connect(ann, bob)
        let given = try await app.call(.post, "/v1/users/\(bob.id)/endorsements", token: ann.token, json: ["text": tag])
        #expect(given.status == .created)
        return (bob, try #require(given.string("endorsementId")))
    }

    /// The six-digit codes in a message body.
    static func codes(in body: String) -> [String] {
        body.split(whereSeparator: { !$0.isNumber }).filter { $0.count == 6 }.map(String.init)
    }

    /// The log's last sequence number.
    static func lastSeq(_ app: TestApp) async throws -> Int {
        try await app.services.store.database.read { sql in
            try await sql.raw("SELECT COALESCE(MAX(seq), 0) AS n FROM processing_log").first()?
                .decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// The entries after `seq`, as stored (JSON) and decoded, oldest first.
    static func entries(after seq: Int, _ app: TestApp) async throws -> [(json: String, entry: ProcessingEntry)] {
        try await app.services.store.database.read { sql in
            try await sql.raw("SELECT entry FROM processing_log WHERE seq > \(bind: seq) ORDER BY seq").all().map {
                let json = try $0.decode(column: "entry", as: String.self)
                return (json, try JSONDecoder().decode(ProcessingEntry.self, from: Data(json.utf8)))
            }
        }
    }

    static func pseudonym(of user: String, _ app: TestApp) async throws -> String {
        try await app.services.store.database.read { sql in
            try await SubjectKeys(store: app.services.store).pseudonym(of: UserID(rawValue: user), on: sql)
        }
    }

    /// Everything of the scenario that must never be in an entry: every number and code the outbox
    /// saw, every user ID (the log names people by pseudonym only), and the drive's secrets.
    static func secrets(of drive: LogCoverageDrive, _ app: TestApp) async throws -> (plain: [String], codes: [String]) {
        var plain = drive.secrets
        var codes: [String] = []
        for message in app.outboxMessages() {
            if let to = message["to"] {
                plain.append(to)
                // The national number too, in case a digest-free form were logged.
                plain.append(String(to.dropFirst(3)))
            }
            codes += Self.codes(in: message["body"] ?? "")
        }
        for number in [newNumber, nonUserNumber] { plain += [number, String(number.dropFirst(3))] }
        let users = try await app.services.store.database.read { sql in
            try await sql.raw("SELECT id FROM users").all().map { try $0.decode(column: "id", as: String.self) }
        }
        return (plain + users, codes)
    }

    @Test("SEC-01 ACC-11 every operation of the contract states what it logs, and does", arguments: Backend.enabled)
    func everyOperationStatesWhatItLogs(backend: Backend) async throws {
        let contract = Mutex<[String]>([])
        try await TestApp.run(backend) { app in
            let operations = implementedOperations(services: app.services).map(\.operationId)
            contract.withLock { $0 = operations }
        }
        let operations = contract.withLock { $0 }
        #expect(operations.count > 30, "the contract is read from the routes")
        let stated = Dictionary(grouping: Self.rows, by: \.operationId)
        for operation in operations where stated[operation] == nil {
            Issue.record("\(operation) has no row: state whether a successful call logs, and about whom")
        }
        for (operation, matching) in stated {
            #expect(operations.contains(operation), "the row \(operation) names no operation of the contract")
            #expect(matching.count == 1, "\(operation) has \(matching.count) rows")
        }
        for operation in operations {
            guard let row = stated[operation]?.first else { continue }
            for variant in row.variants {
                let label = variant.name.isEmpty ? operation : "\(operation) (\(variant.name))"
                try await TestApp.run(backend) { app in
                    try await Self.check(row, variant.prepare, label: label, app)
                }
            }
        }
    }

    /// Drives one successful call and checks the entries it wrote against the row.
    static func check(
        _ row: LogCoverageRow,
        _ prepare: @Sendable (TestApp) async throws -> LogCoverageDrive,
        label: String,
        _ app: TestApp
    ) async throws {
        let drive = try await prepare(app)
        let before = try await lastSeq(app)
        // The caller's pseudonym before the call: an erasure destroys it.
        var callerBefore: String?
        if let id = drive.caller { callerBefore = try await pseudonym(of: id, app) }
        let reply = try await drive.call()
        #expect(reply.status == drive.status, "\(label) must succeed for the row to mean anything: \(reply.body)")
        // A retention sweep may run at any time; it is the system's act, not the operation's.
        let written = try await entries(after: before, app).filter { $0.entry.initiation.kind != .system }
        let logged = written.map(\.entry)
        let callerID = drive.callerFromReply ? reply.string("userId") : drive.caller
        var caller = drive.callerFromReply ? nil : callerBefore
        if caller == nil, let callerID { caller = try await pseudonym(of: callerID, app) }
        var about: [String] = []
        for other in drive.about { about.append(try await pseudonym(of: other, app)) }
        let seen = logged.map { "\($0.actor) → \($0.subject ?? "no one"): \($0.detail)" }

        for entry in logged {
            #expect(
                entry.initiation.action == row.operationId && entry.initiation.kind == .userRequest,
                "\(label): an entry is attributed to \(entry.initiation.kind.rawValue) \(entry.initiation.action)"
            )
        }
        switch row.logs {
        case .none:
            #expect(logged.isEmpty, "\(label) is stated to log nothing, but logged \(seen)")
        case .actor:
            #expect(!logged.isEmpty, "\(label) is stated to log the caller's act, but logged nothing")
            #expect(caller != nil)
            #expect(
                logged.allSatisfy { $0.actor == caller && $0.subject == caller },
                "\(label) is stated to log about the caller \(caller ?? "?") only: \(seen)"
            )
        case .actorAndOther, .actorAndFound:
            #expect(caller != nil && !about.isEmpty)
            #expect(logged.allSatisfy { $0.actor == caller }, "\(label): every entry is the caller's act: \(seen)")
            #expect(
                Set(logged.compactMap(\.subject)) == Set([caller].compactMap { $0 } + about)
                    && logged.allSatisfy { $0.subject != nil },
                "\(label) is stated to log about the caller \(caller ?? "?") and \(about): \(seen)"
            )
        case .anonymous:
            #expect(!logged.isEmpty, "\(label) is stated to log an anonymous act, but logged nothing")
            #expect(
                logged.allSatisfy { $0.actor == "anonymous" && $0.subject == about.first },
                "\(label) is stated to log as anonymous about \(about.first ?? "no one"): \(seen)"
            )
        case .actorThenErasure:
            let erasure = try #require(logged.last, "\(label) is stated to log and erase, but logged nothing")
            #expect(
                erasure.actor == "system" && erasure.subject == nil && erasure.detail.hasPrefix("account erased"),
                "\(label) ends with the account's erasure, naming no one: \(seen)"
            )
            #expect(
                logged.count >= 2 && logged.dropLast().allSatisfy { $0.actor == caller && $0.subject == caller },
                "\(label) is stated to log about the caller \(caller ?? "?") before the erasure: \(seen)"
            )
        case .operatorAboutEach:
            #expect(
                logged.allSatisfy { $0.actor.hasPrefix("operator:") },
                "\(label): every entry is the operator's: \(seen)"
            )
            #expect(
                Set(logged.compactMap(\.subject)) == Set(about) && logged.last?.subject == nil,
                "\(label) is stated to log about each of \(about), then a summary about no one: \(seen)"
            )
        case .operatorAboutSubject:
            #expect(!logged.isEmpty, "\(label) is stated to log the operator's read, but logged nothing")
            #expect(
                logged.allSatisfy { $0.actor.hasPrefix("operator:") && $0.subject == about.first },
                "\(label) is stated to log an operator's read about \(about.first ?? "?"): \(seen)"
            )
        }

        let (plain, codes) = try await secrets(of: drive, app)
        for (json, entry) in written {
            for secret in plain where !secret.isEmpty {
                #expect(!json.contains(secret), "\(label): an entry holds personal data or a secret: \(json)")
            }
            // Codes are short digit runs: search without the time and sequence number, where they could
            // occur by chance.
            var timeless = entry
            timeless.at = 0
            timeless.seq = 0
            let text = timeless.canonicalJSON()
            for code in codes {
                #expect(!text.contains(code), "\(label): an entry holds a verification code: \(json)")
            }
        }
    }

    @Test(
        "ACC-11 DSR-01 an endorsement is among the endorsed person's entries, with the endorser as actor",
        arguments: Backend.enabled
    )
    func endorsementIsInTheEndorsedPersonsEntries(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let ann = try await app.person(1)
            let bob = try await app.person(2)
            try await app.connect(ann, bob)
            let before = try await Self.lastSeq(app)
            let given = try await app.call(
                .post,
                "/v1/users/\(bob.id)/endorsements",
                token: ann.token,
                json: ["preset": "mentor"]
            )
            #expect(given.status == .created)
            let endorser = try await Self.pseudonym(of: ann.id, app)
            let endorsed = try await Self.pseudonym(of: bob.id, app)
            #expect(endorser != endorsed)
            let entries = try await Self.entries(after: before, app).map(\.entry)
            let bobs = entries.filter { $0.subject == endorsed }
            #expect(bobs.count == 1, "one entry about the endorsed person: \(entries)")
            #expect(bobs.first?.actor == endorser)
            #expect(bobs.first?.detail == "endorsement given")
            #expect(bobs.first?.initiation.action == "endorse")
            #expect(
                entries.contains { $0.subject == endorser && $0.actor == endorser && $0.detail == "endorsement given" },
                "the endorser's own entry"
            )
            // Bob's whole log, as his export would select it, shows the endorsement by Ann.
            let all = try await loggedEntries(app.services.store)
            #expect(all.contains { $0.subject == endorsed && $0.actor == endorser && $0.detail == "endorsement given" })
        }
    }
}
