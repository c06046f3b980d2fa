/// The kinds of message Kith sends, each with its own typed template (MSG-04).
public enum MessageKind: String, Sendable, Codable, CaseIterable {
    case verification
    case numberOptOut = "number-opt-out"

    /// The purposes whose logged acts may authorise a message of this kind.
    public var authorisingPurposes: Set<PurposeID> {
        switch self {
        case .verification: [.account]
        case .numberOptOut: [.numberSuppression]
        }
    }
}

/// A message's text, from a fixed template per kind. Transactional templates take typed values (a code),
/// never free text, so nothing but the template's own words reaches the recipient.
public enum MessageTemplate: Sendable, Equatable {
    /// A sign-in code.
    case signInCode(String)
    /// A number-opt-out code.
    case optOutCode(String)
    /// A code that proves a signed-in person holds the number they change to (DSR-03).
    case numberChangeCode(String)
    /// A code that proves a signed-in person holds their account's number before it is deleted (DSR-04).
    case accountDeletionCode(String)

    public var kind: MessageKind {
        switch self {
        case .signInCode, .numberChangeCode, .accountDeletionCode: .verification
        case .optOutCode: .numberOptOut
        }
    }

    /// The exact text sent.
    public var body: String {
        switch self {
        case .signInCode(let code):
            "【Kith】验证码 \(code)，10 分钟内有效。请勿告诉他人。Your Kith code is \(code); valid for 10 minutes."
        case .optOutCode(let code):
            "【Kith】号码屏蔽验证码 \(code)，10 分钟内有效。Your Kith opt-out code is \(code)."
        case .numberChangeCode(let code):
            "【Kith】更换号码验证码 \(code)，10 分钟内有效。Your Kith code to change your number to this one is \(code)."
        case .accountDeletionCode(let code):
            "【Kith】注销账号验证码 \(code)，10 分钟内有效。如非本人操作请忽略。Your Kith code to delete your account is \(code)."
        }
    }
}
