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

/// `getProfile`, `updateProfile`: one visibility filter for every read (issue 4 §1).
struct ProfileRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.get, "/v1/users/{userId}/profile", "getProfile") { request, context in
            let viewer = try context.requireUser().user
            let owner = try context.userParameter()
            let locale = try request.locale()
            try await services.throttleRead(by: viewer, of: owner, context: context, operation: "getProfile")
            return JSONResponse(try await profile(of: owner, for: viewer, locale: locale))
        }

        api.add(.patch, "/v1/me/profile", "updateProfile") { request, context in
            let user = try context.requireUser().user
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

    func profile(of owner: UserID, for viewer: UserID, locale: NoticeLocale) async throws -> ProfileView {
        try await services.network.profile(of: owner, for: viewer, locale: locale)
    }
}
