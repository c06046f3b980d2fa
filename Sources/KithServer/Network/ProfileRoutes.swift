import Foundation
import Hummingbird
import KithCore
import KithStore

struct UpdateProfileBody: StrictDecodable {
    static let fields: Set<String> = [
        "displayName", "headline", "employer", "school", "city", "avatarURL", "visibility", "hideConnections",
    ]
    var displayName: String?
    var headline: String?
    var employer: String?
    var school: String?
    var city: String?
    var avatarURL: String?
    var visibility: [ProfileField: Audience]?
    var hideConnections: Bool?

    var values: [ProfileField: String] {
        var values: [ProfileField: String] = [:]
        values[.displayName] = displayName
        values[.headline] = headline
        values[.employer] = employer
        values[.school] = school
        values[.city] = city
        values[.avatarURL] = avatarURL
        return values
    }

    /// The contract's rules, exactly as `UpdateProfileRequest` states them: lengths in code points, no
    /// control characters, an avatar URL that is `https://` with a host.
    func validate() throws {
        for (field, value) in values {
            guard value.unicodeScalars.count <= field.maximumLength else {
                throw KithError.invalid(field.rawValue, "At most \(field.maximumLength) characters.")
            }
            guard !value.unicodeScalars.contains(where: \.isControlCharacter) else {
                throw KithError.invalid(field.rawValue, "Control characters are not allowed.")
            }
        }
        if let avatarURL = values[.avatarURL], !avatarURL.isEmpty {
            let host = avatarURL.dropFirst("https://".count).prefix { !"/?#".contains($0) }
            guard avatarURL.hasPrefix("https://"), !host.isEmpty,
                !avatarURL.unicodeScalars.contains(where: { $0 == " " })
            else {
                throw KithError.invalid("avatarURL", "The avatar URL is an https URL.")
            }
        }
    }
}

extension Unicode.Scalar {
    /// C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F).
    var isControlCharacter: Bool { value < 0x20 || (0x7F...0x9F).contains(value) }
}

struct ProfileResponse: Codable, Sendable {
    var userId: UserID
    /// How the viewer stands to this person: `self`, `connection` or `other`.
    var relationship: Relationship
    /// Only the fields the viewer may see.
    var fields: [ProfileField: String]
    /// The owner's own view: each field's audience (absent for others).
    var visibility: [ProfileField: Audience]?
    var hidesConnections: Bool?
    /// The owner's own view: every endorsement, hidden ones too.
    var endorsements: [Endorsement]?
    /// Everyone else's view: the visible tags, counted.
    var endorsementCounts: [EndorsementCount]?
}

/// `getProfile`, `updateProfile`: one visibility filter for every read (issue 4 §1).
struct ProfileRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.get, "/v1/users/{userId}/profile", "getProfile") { request, context in
            let viewer = try context.requirePrincipal().user
            let owner = try context.userParameter()
            let locale = try request.locale()
            return JSONResponse(try await profile(of: owner, for: viewer, locale: locale))
        }

        api.add(.patch, "/v1/me/profile", "updateProfile") { request, context in
            let user = try context.requirePrincipal().user
            let body = try await request.decodeStrict(
                UpdateProfileBody.self,
                context: context,
                maxBytes: services.maxBodyBytes
            )
            _ = try await services.network.updateProfile(
                of: user,
                values: body.values,
                audiences: body.visibility ?? [:],
                hidesConnections: body.hideConnections,
                initiation: context.initiation("updateProfile")
            )
            return JSONResponse(try await profile(of: user, for: user, locale: try request.locale()))
        }
    }

    func profile(of owner: UserID, for viewer: UserID, locale: NoticeLocale) async throws -> ProfileResponse {
        try await services.store.database.read { sql in
            let relationship = try await SocialNetwork.relationship(of: viewer, to: owner, on: sql)
            guard relationship != .blocked, try await SocialNetwork.exists(owner, on: sql) else {
                throw KithError.noSuchPerson
            }
            let profile = try await SocialNetwork.profile(of: owner, on: sql)
            let isSelf = relationship == .selfView
            return ProfileResponse(
                userId: owner,
                relationship: relationship,
                fields: profile.visible(to: relationship),
                visibility: isSelf
                    ? Dictionary(uniqueKeysWithValues: ProfileField.allCases.map { ($0, profile.audience(of: $0)) })
                    : nil,
                hidesConnections: isSelf ? profile.hidesConnections : nil,
                endorsements: isSelf ? try await SocialNetwork.endorsements(of: owner, locale: locale, on: sql) : nil,
                endorsementCounts: isSelf
                    ? nil : try await SocialNetwork.endorsementCounts(of: owner, locale: locale, on: sql)
            )
        }
    }
}
