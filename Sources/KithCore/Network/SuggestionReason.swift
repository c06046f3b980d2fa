/// Why a person is suggested: a code from a fixed taxonomy plus the facts behind it (PYM-04).
///
/// The sentence is derived from these facts alone, so a test can re-derive it from the data. It names
/// only mutual connections the viewer may see and never says anything about a third party's address
/// book: the contact reasons speak only of the viewer's and the suggested person's own contacts.
public enum SuggestionReason: Sendable, Equatable {
    /// Mutual connections, scored by Resource Allocation; `names` are the ones the viewer may see.
    case mutualConnections(count: Int, names: [String])
    /// The viewer uploaded the suggested person's number, and that person is discoverable (CON-05).
    case youHaveTheirNumber
    /// The suggested person uploaded the viewer's number; only with the viewer's specific consent (PYM-01).
    case theyHaveYourNumber
    /// Both name the same employer, and the suggested person shows it to everyone.
    case sameEmployer(String)
    /// Both name the same school, and the suggested person shows it to everyone.
    case sameSchool(String)
    /// Three steps away: connected to `count` people whom the viewer's connections know, through connection
    /// lists that are not hidden (issue 16). No one on the way is named: they are not the viewer's
    /// connections.
    case extendedNetwork(count: Int)
    /// The non-personalised list: no personal characteristics were used (PYM-02, PYM-08).
    case nonPersonalised

    /// The stable reason code.
    public var code: String {
        switch self {
        case .mutualConnections: "mutual-connections"
        case .youHaveTheirNumber: "you-have-their-number"
        case .theyHaveYourNumber: "they-have-your-number"
        case .sameEmployer: "same-employer"
        case .sameSchool: "same-school"
        case .extendedNetwork: "extended-network"
        case .nonPersonalised: "non-personalised"
        }
    }

    /// The sentence shown with the suggestion ("3 mutual connections: A, B and 1 other").
    public func text(_ locale: NoticeLocale) -> String {
        switch (self, locale) {
        case (.mutualConnections(let count, let names), .en):
            let noun = count == 1 ? "mutual connection" : "mutual connections"
            guard !names.isEmpty else { return "\(count) \(noun)" }
            let others = count - names.count
            let listed: String
            if others > 0 {
                listed = names.joined(separator: ", ") + " and \(others) " + (others == 1 ? "other" : "others")
            } else if names.count == 1 {
                listed = names[0]
            } else {
                listed = names.dropLast().joined(separator: ", ") + " and " + names[names.count - 1]
            }
            return "\(count) \(noun): \(listed)"
        case (.mutualConnections(let count, let names), .zhCN):
            guard !names.isEmpty else { return "\(count) 位共同联系人" }
            let others = count - names.count
            return "\(count) 位共同联系人：" + names.joined(separator: "、") + (others > 0 ? " 及另外 \(others) 位" : "")
        case (.youHaveTheirNumber, .en): return "You have their number in your contacts"
        case (.youHaveTheirNumber, .zhCN): return "您的通讯录里有对方的号码"
        case (.theyHaveYourNumber, .en): return "They have your number in their contacts"
        case (.theyHaveYourNumber, .zhCN): return "对方的通讯录里有您的号码"
        case (.sameEmployer(let employer), .en): return "Also works at \(employer)"
        case (.sameEmployer(let employer), .zhCN): return "同在\(employer)工作"
        case (.sameSchool(let school), .en): return "Also studied at \(school)"
        case (.sameSchool(let school), .zhCN): return "同样就读于\(school)"
        case (.extendedNetwork(let count), .en):
            return count == 1
                ? "Connected to someone your connections know" : "Connected to \(count) people your connections know"
        case (.extendedNetwork(let count), .zhCN): return "与您的联系人认识的 \(count) 位用户有联系"
        case (.nonPersonalised, .en): return "Not personalised: among the most connected people on Kith"
        case (.nonPersonalised, .zhCN): return "非个性化推荐：Kith 上人脉较多的用户"
        }
    }

    /// How much the reason adds to a suggestion's rank, beside the mutual-connection score.
    public var weight: Double {
        switch self {
        case .mutualConnections: 0
        case .youHaveTheirNumber: 1.0
        case .theyHaveYourNumber: 0.8
        case .sameEmployer: 0.3
        case .sameSchool: 0.2
        case .extendedNetwork: 0
        case .nonPersonalised: 0
        }
    }
}
