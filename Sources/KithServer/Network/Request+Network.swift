import Hummingbird
import KithCore
import KithStore

extension Request {
    /// The `locale` query parameter: `zh-CN` (the default) or `en`.
    func locale() throws -> NoticeLocale {
        guard let text = uri.queryParameters["locale"] else { return .zhCN }
        guard let locale = NoticeLocale(rawValue: String(text)) else {
            throw KithError.invalid("locale", "Use zh-CN or en.")
        }
        return locale
    }

    /// The `limit` query parameter, between 1 and `maximum`.
    func limit(default value: Int, maximum: Int) throws -> Int {
        guard let text = uri.queryParameters["limit"] else { return value }
        guard let limit = Int(String(text)), (1...maximum).contains(limit) else {
            throw KithError.invalid("limit", "The limit is a whole number from 1 to \(maximum).")
        }
        return limit
    }
}

extension KithRequestContext {
    /// A person's ID from the path (never echoed in errors).
    func userParameter(_ name: String = "userId") throws -> UserID {
        guard let text = parameters.get(name), (1...64).contains(text.unicodeScalars.count) else {
            throw KithError.noSuchPerson
        }
        return UserID(rawValue: text)
    }

    /// A path identifier of at most 64 characters, or `not-found` naming the parameter.
    func identifier(_ name: String) throws -> String {
        guard let text = parameters.get(name), (1...64).contains(text.unicodeScalars.count) else {
            throw KithError(.notFound, field: name, detail: "There is no such resource.")
        }
        return text
    }
}

/// A body naming one person.
struct PersonBody: StrictDecodable {
    static let fields: Set<String> = ["userId"]
    var userId: String

    func validate() throws {
        guard (1...64).contains(userId.unicodeScalars.count) else {
            throw KithError.invalid("userId", "A user ID has 1 to 64 characters.")
        }
    }

    var user: UserID { UserID(rawValue: userId) }
}
