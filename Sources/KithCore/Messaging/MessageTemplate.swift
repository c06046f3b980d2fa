/// The kinds of message Kith sends, each with its own typed template (MSG-04).
public enum MessageKind: String, Sendable, Codable, CaseIterable {
    case verification
    case numberOptOut = "number-opt-out"
    /// A user's invitation of one person, sent by Kith only where the operator turned that on (MSG-02).
    case invitation
    /// Kith's own news or offers, to people who consented (MSG-06).
    case marketing

    /// The purposes whose logged acts may authorise a message of this kind.
    public var authorisingPurposes: Set<PurposeID> {
        switch self {
        case .verification: [.account]
        case .numberOptOut: [.numberSuppression]
        case .invitation: [.invitations]
        case .marketing: [.marketing]
        }
    }

    /// The sender ID a message goes out under (MSG-07): the provider's transactional port carries codes
    /// and security notices only; marketing has its own, and invitations theirs.
    public var sender: String {
        switch self {
        case .verification, .numberOptOut: "kith-transactional"
        case .invitation: "kith-invitations"
        case .marketing: "kith-marketing"
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
    /// An invitation (MSG-02, MSG-03): the inviter's own display name, the link, fixed words; nothing about
    /// anyone else. `sms` is the text Kith sends itself (sender named, STOP offered); otherwise it is the
    /// inviter's own message, sent from their phone.
    case invitation(inviter: String, link: String, sms: Bool)
    /// A marketing message (MSG-06): the campaign's words between the sender's name and the way to stop.
    case marketing(String)

    public var kind: MessageKind {
        switch self {
        case .signInCode, .numberChangeCode, .accountDeletionCode: .verification
        case .optOutCode: .numberOptOut
        case .invitation: .invitation
        case .marketing: .marketing
        }
    }

    /// Whether the template's values are what its kind allows: a code is 4–8 ASCII digits, so a
    /// transactional message can never carry other words (MSG-07); marketing words are 1–300 characters.
    public var isWellFormed: Bool {
        switch self {
        case .signInCode(let code), .optOutCode(let code), .numberChangeCode(let code), .accountDeletionCode(let code):
            (4...8).contains(code.utf8.count) && code.utf8.allSatisfy { (0x30...0x39).contains($0) }
        case .invitation(let inviter, let link, _):
            !inviter.isEmpty && inviter.count <= 64 && !link.contains(where: \.isWhitespace)
        case .marketing(let words):
            (1...300).contains(words.count) && !words.contains("\n")
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
        case .invitation(let inviter, let link, sms: false):
            "\(inviter) 邀请你加入 Kith：\(link)\n\(inviter) invites you to join Kith: \(link)"
        case .marketing(let words):
            "【Kith】\(words) 回T退订 Reply STOP to opt out"
        case .invitation(let inviter, let link, sms: true):
            "【Kith】\(inviter) 邀请你加入 Kith：\(link) 回T退订。\(inviter) invites you to join Kith: \(link) Reply STOP to opt out."
        }
    }
}
