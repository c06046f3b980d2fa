import Foundation
import HTTPTypes
import Hummingbird
import KithCore
import KithStore

/// `previewInvitation`: one recipient, and how it should reach them.
struct PreviewInvitationBody: StrictDecodable {
    static let fields: Set<String> = ["phone", "channel"]
    var phone: String
    var channel: String?

    func validate() throws {
        guard phone.unicodeScalars.count <= 64 else {
            throw KithError.invalid("phone", "A phone number has at most 64 characters.")
        }
        if let channel, InvitationChannel(rawValue: channel) == nil {
            throw KithError.invalid("channel", "Use share or sms.")
        }
    }
}

/// `sendInvitation`: the preview's token, and the client's own ID of the tap that sent it.
struct SendInvitationBody: StrictDecodable {
    static let fields: Set<String> = ["previewToken", "clientActionId"]
    var previewToken: String
    var clientActionId: String?

    func validate() throws {
        guard (1...1024).contains(previewToken.unicodeScalars.count) else {
            throw KithError.invalid("previewToken", "Send the previewToken previewInvitation gave.")
        }
        if let clientActionId {
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:")
            guard (1...64).contains(clientActionId.unicodeScalars.count), clientActionId.allSatisfy(allowed.contains)
            else {
                throw KithError.invalid("clientActionId", "Use 1–64 letters, digits, '-', '_', '.' or ':'.")
            }
        }
    }
}

/// `receiveInboundMessage`: a reply to one of Kith's messages, as the SMS provider hands it on.
struct InboundMessageBody: StrictDecodable {
    static let fields: Set<String> = ["from", "text"]
    var from: String
    var text: String

    func validate() throws {
        guard from.unicodeScalars.count <= 64 else {
            throw KithError.invalid("from", "A phone number has at most 64 characters.")
        }
        guard text.unicodeScalars.count <= 1600 else { throw KithError.invalid("text", "At most 1,600 characters.") }
    }
}

/// `optOutFromMessages`: the code of the link the message carried.
struct MessageOptOutBody: StrictDecodable {
    static let fields: Set<String> = ["linkCode"]
    var linkCode: String

    func validate() throws {
        guard (1...64).contains(linkCode.unicodeScalars.count) else {
            throw KithError.invalid("linkCode", "Use the code at the end of the link.")
        }
    }
}

/// `sendMarketingCampaign`: the campaign's words, and whom profile data selects, if anyone.
struct CampaignBody: StrictDecodable {
    static let fields: Set<String> = ["text", "audience"]
    var text: String
    var audience: MarketingAudience?

    func validate() throws {
        guard MessageTemplate.marketing(text).isWellFormed else {
            throw KithError.invalid("text", "A campaign's words are 1–300 characters on one line.")
        }
        if let city = audience?.city, !(1...64).contains(city.count) {
            throw KithError.invalid("audience", "A city has 1–64 characters.")
        }
    }
}

struct InvitationList: Codable, Sendable {
    var invitations: [Invitation]
}

/// `previewInvitation`, `sendInvitation`, `listMyInvitations` (MSG-02..05): one recipient after a preview
/// of the exact text; `receiveInboundMessage` (the provider's webhook, signed) and `optOutFromMessages`
/// (an invitation's link): STOP that works (CON-08). `sendMarketingCampaign` (operator) and
/// `unsubscribeMarketing`: marketing only with consent, stopped at once (MSG-06..08).
struct InvitationRoutes {
    let services: KithServices

    /// The header the provider signs the body with: `sha256=` and the hex HMAC-SHA256 of the raw body
    /// under `KITH_INBOUND_MESSAGE_SECRET`.
    static let signatureHeader = HTTPField.Name("Kith-Signature")!

    func register(on api: API) {
        api.add(.post, "/v1/me/invitations/previews", "previewInvitation") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(PreviewInvitationBody.self, context: context, maxBytes: 4096)
            guard case .success(let phone) = PhoneNumber.parseMobile(body.phone, defaultRegion: services.defaultRegion)
            else {
                throw KithError.invalid("phone", "This is not a phone number we can invite.")
            }
            let preview = try await services.invitations.preview(
                by: user,
                to: phone,
                channel: body.channel.flatMap(InvitationChannel.init(rawValue:)) ?? .share,
                initiation: context.initiation("previewInvitation")
            )
            return JSONResponse(preview)
        }

        api.add(.post, "/v1/me/invitations", "sendInvitation") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(SendInvitationBody.self, context: context, maxBytes: 4096)
            let (sent, message) = try await services.invitations.send(
                token: body.previewToken,
                clientActionId: body.clientActionId,
                by: user,
                initiation: context.initiation("sendInvitation")
            )
            if let message { try await services.messages.send(message) }
            return JSONResponse(sent, status: .created)
        }

        api.add(.get, "/v1/me/invitations", "listMyInvitations") { _, context in
            let user = try context.requireUser().user
            return JSONResponse(InvitationList(invitations: try await services.invitations.list(of: user)))
        }

        api.add(.post, "/v1/inbound-messages", "receiveInboundMessage") { request, context in
            let data = try await request.collectBody(maxBytes: 8192)
            // Checked before the body is read: an unsigned or mis-signed call changes nothing.
            guard
                InboundMessages.signatureMatches(
                    request.headers[Self.signatureHeader],
                    body: data,
                    secret: services.inboundMessageSecret
                )
            else {
                throw KithError(.unauthenticated, detail: "The message is not signed with the provider's secret.")
            }
            let body = try InboundMessageBody.decodeStrict(from: data)
            // A STOP is honoured from any number the provider names, even one the metadata does not know.
            let parsed = PhoneNumber.parse(body.from, defaultRegion: services.defaultRegion)
            guard case .success(let phone) = parsed.flatMapError({ _ in PhoneNumber.parseE164(body.from) }) else {
                throw KithError.invalid("from", "This is not a phone number.")
            }
            try await services.inbound.receive(
                from: phone,
                text: body.text,
                initiation: context.initiation("receiveInboundMessage")
            )
            return Response(status: .noContent)
        }

        api.add(.post, "/v1/me/marketing/unsubscription", "unsubscribeMarketing") { _, context in
            let user = try context.requireUser().user
            try await services.marketing.unsubscribe(user, initiation: context.initiation("unsubscribeMarketing"))
            return Response(status: .noContent)
        }

        let operators = api.router.group().add(middleware: OperatorAuthenticator(operators: services.operators))
        api.add(.post, "/v1/operator/marketing-campaigns", "sendMarketingCampaign", in: operators) {
            request,
            context in
            let name = try context.requireOperator()
            let body = try await request.decodeStrict(CampaignBody.self, context: context, maxBytes: 4096)
            var (report, messages) = try await services.marketing.send(
                text: body.text,
                audience: body.audience,
                by: name,
                initiation: context.initiation("sendMarketingCampaign")
            )
            // A person who unsubscribed since the campaign was authorised gets nothing (the dispatcher checks).
            var sent = 0
            for message in messages {
                do {
                    try await services.messages.send(message)
                    sent += 1
                } catch let error as KithError where error.code == .forbidden {
                    report.skipped[CampaignReport.Skip.unsubscribed.rawValue, default: 0] += 1
                }
            }
            report.sent = sent
            return JSONResponse(report, status: .created)
        }

        api.add(.post, "/v1/message-opt-outs", "optOutFromMessages") { request, context in
            let body = try await request.decodeStrict(MessageOptOutBody.self, context: context, maxBytes: 1024)
            try await services.invitations.optOut(
                linkCode: body.linkCode,
                initiation: context.initiation("optOutFromMessages")
            )
            return Response(status: .noContent)
        }
    }
}
