/// The versioned privacy notices and the purposes they describe: the record of processing activities
/// as code (ACC-01, ACC-06, SEC-07).
///
/// The current notice is the highest version. A consent counts for a purpose only if it was given under
/// a notice version at or after the purpose's ``Purpose/consentRequiredSince`` (ACC-06).
public struct PurposeCatalogue: Sendable {
    public let notices: [PrivacyNotice]

    /// - Precondition: at least one notice; versions strictly increasing.
    public init(notices: [PrivacyNotice]) {
        precondition(!notices.isEmpty, "a catalogue needs at least one notice")
        self.notices = notices.sorted { $0.version < $1.version }
    }

    public var current: PrivacyNotice { notices[notices.count - 1] }

    public func notice(version: Int) -> PrivacyNotice? { notices.first { $0.version == version } }

    /// The purpose as the current notice describes it.
    public func purpose(_ id: PurposeID) -> Purpose? { current.purpose(id) }

    /// Whether a consent given under `noticeVersion` still covers `purpose` under the current notice.
    public func consentIsCurrent(for purpose: PurposeID, givenUnder noticeVersion: Int) -> Bool {
        guard let purpose = self.purpose(purpose) else { return false }
        return noticeVersion >= purpose.consentRequiredSince && noticeVersion <= current.version
    }
}

extension PurposeID {
    /// Signing in and keeping the account: the phone number, verification codes and sessions.
    public static let account: PurposeID = "account"
    /// Security and accountability logs (CSL 21(3), PIPL 55–56): the processing log itself.
    public static let securityLog: PurposeID = "security-log"
    /// Finding friends from the address book the user chose to upload (CON-01..03).
    public static let contactDiscovery: PurposeID = "contact-discovery"
    /// "Let people who have my number find me" (CON-05).
    public static let discoverableByPhone: PurposeID = "discoverable-by-phone"
    /// "Suggest to me people whose address books contain my number" (PYM-01, Ling v. Douyin).
    public static let reverseContactSuggestions: PurposeID = "reverse-contact-suggestions"
    /// "People whose numbers I have may see me suggested, with that reason" (PYM-04, issue 15 §2): the
    /// uploader's own consent to what "they have your number" tells the person suggested.
    public static let suggestMeToMyContacts: PurposeID = "suggest-me-to-my-contacts"
    /// People-you-may-know ranked from the user's network and profile (PYM-02).
    public static let personalisedSuggestions: PurposeID = "personalised-suggestions"
    /// A non-user's "never match or contact this number" request (CON-08, DSR-10).
    public static let numberSuppression: PurposeID = "number-suppression"
    /// The user's profile and connections: the core service of a social network.
    public static let socialNetwork: PurposeID = "social-network"
    /// Rate limits against code pumping, enumeration and spam (CON-07, ACC-12): counters keyed by keyed
    /// hashes of client IP addresses and phone numbers, or by account, kept for the window of the limit.
    public static let abusePrevention: PurposeID = "abuse-prevention"
    /// Invitations a user sends, one recipient at a time, after seeing the exact text (MSG-02..05).
    public static let invitations: PurposeID = "invitations"
    /// Kith's own news and offers to users who asked for them (MSG-06, MSG-07): off by default.
    public static let marketing: PurposeID = "marketing"
    /// Choosing who receives which marketing from their profile (PIPL art. 24, MSG-08): off by default.
    public static let personalisedMarketing: PurposeID = "personalised-marketing"
}

extension PurposeCatalogue {
    /// The catalogue Kith ships.
    public static let standard = PurposeCatalogue(notices: [.version1, .version2, .version3])
}

extension PrivacyNotice {
    static let controller = LocalizedText(zhCN: "Kith 运营方", en: "The Kith operator")
    static let rightsText = LocalizedText(
        zhCN: """
            您可以随时查阅、复制、更正、删除您的个人信息，撤回任何基于同意的处理（撤回与给予同样便捷，\
            不影响撤回前的处理，也不影响不依赖该同意的功能），注销账号，并要求我们解释处理规则。\
            通过应用内“隐私中心”或上述联系方式行使权利；我们拒绝时会说明理由，您可以向监管部门投诉或向法院起诉。
            """,
        en: """
            You may at any time access, copy, correct and delete your personal information, withdraw any \
            consent (as easily as you gave it; withdrawal does not affect processing before it, nor any feature \
            that does not depend on that consent), cancel your account, and ask us to explain our processing \
            rules. Use the privacy centre in the app or the contact above; if we refuse we give reasons, and you \
            may complain to the regulator or go to court.
            """
    )

    /// The first published notice.
    public static let version1 = PrivacyNotice(
        version: 1,
        publishedOn: "2026-11-23",
        controller: controller,
        contact: "privacy@kith.example",
        purposes: [
            Purpose(
                id: .account,
                basis: .contract,
                dataCategories: ["phone-number", "verification-code", "session"],
                retentionDays: nil,
                retention: LocalizedText(
                    zhCN: "账号存续期间；验证码 10 分钟；登录会话 30 天。",
                    en: "While the account exists; verification codes 10 minutes; sessions 30 days."
                ),
                title: LocalizedText(zhCN: "注册与登录", en: "Sign-up and sign-in"),
                description: LocalizedText(
                    zhCN: "我们只需要您的手机号码：向其发送验证码以确认号码属于您，并以此创建或登录您的账号。" + "号码加密存储，仅以带密钥的索引查找。",
                    en: "We need only your mobile number: we text it a code to confirm it is yours and create or "
                        + "sign in to your account with it. The number is stored encrypted and looked up only "
                        + "through a keyed index."
                )
            ),
            Purpose(
                id: .securityLog,
                basis: .legalObligation,
                dataCategories: ["processing-log", "pseudonymous-identifier"],
                retentionDays: 1095,
                retention: LocalizedText(zhCN: "3 年（网络日志不少于 6 个月）。", en: "3 years (network logs at least 6 months)."),
                title: LocalizedText(zhCN: "处理记录", en: "Processing log"),
                description: LocalizedText(
                    zhCN: "每一次处理个人信息都会记录时间、发起者、目的与依据，形成防篡改的日志，用以证明处理合法。" + "日志以化名指代个人；注销后化名密钥被销毁。",
                    en: "Every processing of personal information is logged with time, initiator, purpose and basis "
                        + "in a tamper-evident log that proves it was lawful. The log refers to people by pseudonyms "
                        + "whose keys are destroyed when the account is erased."
                )
            ),
            Purpose(
                id: .socialNetwork,
                basis: .contract,
                dataCategories: ["profile", "connections", "endorsements"],
                retentionDays: nil,
                retention: LocalizedText(
                    zhCN: "账号存续期间，或您删除为止。",
                    en: "While the account exists, or until you delete it."
                ),
                title: LocalizedText(zhCN: "资料与人脉", en: "Profile and connections"),
                description: LocalizedText(
                    zhCN: "您填写的资料按您为每个字段选择的可见范围展示；人脉关系仅在双方同意后建立。",
                    en: "The profile you fill in is shown according to the visibility you choose for each field; "
                        + "connections exist only when both people agreed."
                )
            ),
            Purpose(
                id: .contactDiscovery,
                basis: .consent,
                dataCategories: ["uploaded-phone-numbers", "contact-edges"],
                retentionDays: nil,
                retention: LocalizedText(
                    zhCN: "未匹配到用户的号码不保存；匹配到的仅保存为“您有此人号码”的关系，直至您撤回或删除。",
                    en: "Numbers that match no user are not kept; matches are kept only as 'you have this "
                        + "person's number' until you withdraw or delete them."
                ),
                title: LocalizedText(zhCN: "通过通讯录找朋友", en: "Find friends from my contacts"),
                description: LocalizedText(
                    zhCN: "仅在您选择“通过通讯录找朋友”时，上传通讯录中的电话号码（不含姓名和备注），与允许被找到的用户匹配。",
                    en: "Only when you choose 'find friends from my contacts', the phone numbers in your address "
                        + "book (no names, no notes) are matched against users who let people find them."
                )
            ),
            Purpose(
                id: .discoverableByPhone,
                basis: .consent,
                dataCategories: ["phone-number"],
                retentionDays: nil,
                retention: LocalizedText(zhCN: "直至您关闭。", en: "Until you turn it off."),
                title: LocalizedText(zhCN: "允许有我号码的人找到我", en: "Let people who have my number find me"),
                description: LocalizedText(
                    zhCN: "打开后，通讯录中有您号码的用户可以看到您的公开资料并向您发出人脉请求。关闭后立即生效。",
                    en: "When on, users who have your number in their address book can see your public profile "
                        + "and ask to connect. Turning it off takes effect at once."
                )
            ),
            Purpose(
                id: .reverseContactSuggestions,
                basis: .consent,
                dataCategories: ["contact-edges"],
                retentionDays: nil,
                retention: LocalizedText(zhCN: "直至您关闭。", en: "Until you turn it off."),
                title: LocalizedText(
                    zhCN: "向我推荐通讯录里有我号码的人",
                    en: "Suggest to me people whose address books contain my number"
                ),
                description: LocalizedText(
                    zhCN: "打开后，我们会把“已上传了含有您号码的通讯录、且允许被找到”的用户推荐给您，理由注明“对方有您的号码”。" + "默认关闭。",
                    en: "When on, we suggest to you users who uploaded an address book containing your number and "
                        + "who let people find them, with the reason 'they have your number'. Off by default."
                )
            ),
            Purpose(
                id: .personalisedSuggestions,
                basis: .consent,
                dataCategories: ["connections", "profile", "contact-edges"],
                retentionDays: nil,
                retention: LocalizedText(zhCN: "不单独保存；每次请求时计算。", en: "Not stored; computed on each request."),
                title: LocalizedText(zhCN: "个性化的“可能认识的人”", en: "Personalised people-you-may-know"),
                description: LocalizedText(
                    zhCN: "根据您的人脉、共同好友与您可见的工作和学校信息推荐可能认识的人，并说明每条推荐的理由。" + "关闭后只显示不使用个人特征的普通列表。",
                    en: "Suggests people you may know from your connections, mutual connections and the employer "
                        + "and school you can see, with the reason for each. Turned off, you see a plain list that "
                        + "uses no personal characteristics."
                )
            ),
            Purpose(
                id: .numberSuppression,
                basis: .legalObligation,
                dataCategories: ["phone-number-blind-index"],
                retentionDays: nil,
                retention: LocalizedText(
                    zhCN: "直至号码持有人要求撤销。",
                    en: "Until the holder of the number asks us to lift it."
                ),
                title: LocalizedText(zhCN: "号码屏蔽（非用户）", en: "Number opt-out (for non-users)"),
                description: LocalizedText(
                    zhCN: "不是 Kith 用户的人可以验证自己的号码，要求我们永不匹配、永不联系该号码。" + "我们只保存该号码的带密钥索引，不保存号码本身。",
                    en: "People who do not use Kith can verify their number and ask us never to match or contact "
                        + "it. We keep only a keyed index of the number, never the number itself."
                )
            ),
            Purpose(
                id: .abusePrevention,
                basis: .legalObligation,
                dataCategories: ["client-ip-keyed-hash", "phone-number-blind-index", "usage-counter"],
                retentionDays: 20,
                retention: LocalizedText(
                    zhCN: "仅在限额的时间窗口内保存，之后删除：验证码不超过 1 小时，人脉请求 1 天，通讯录匹配额度 20 天。",
                    en: "Only for the window of each limit, then deleted: at most an hour for sign-in codes, a day "
                        + "for connection requests, 20 days for the address-book quota."
                ),
                title: LocalizedText(zhCN: "防止滥用（频率限制）", en: "Abuse prevention (rate limits)"),
                description: LocalizedText(
                    zhCN: "为防止验证码轰炸、号码枚举和骚扰，我们按您的客户端 IP 地址、手机号码或账号计数请求次数。" + "IP 地址和号码只以带密钥的哈希保存在计数器中，从不保存原文。",
                    en: "To stop code pumping, number enumeration and spam we count requests per client IP address, "
                        + "per phone number and per account. Addresses and numbers are kept only as keyed hashes "
                        + "inside the counters, never as themselves."
                )
            ),
        ],
        rights: rightsText,
        changeSummary: LocalizedText(zhCN: "首次发布。", en: "First publication.")
    )

    /// Version 2 (PYM-04, GEN-08, GEN-05; issue 15): "they have your number" is shown only when the
    /// uploader agreed to it under its own purpose; the texts of contact discovery and of reverse
    /// suggestions say so; abuse prevention keeps sign-in code counts a day and reading counts two hours.
    ///
    /// Both changes narrow what is done, so consents given under version 1 still count
    /// (``Purpose/consentRequiredSince`` stays 1); the new purpose needs a consent of version 2.
    public static let version2: PrivacyNotice = {
        var notice = version1
        notice.version = 2
        notice.publishedOn = "2026-12-01"
        notice.changeSummary = LocalizedText(
            zhCN: "新增“让我通讯录里的人看到对我的推荐”：只有您打开它，有您号码的人才会看到“对方有您的号码”这一推荐理由；"
                + "仅上传通讯录不再会让您以此理由被推荐。“注册与登录”新增更换号码、注册锁和回收号码的规则。防止滥用的计数：验证码保存一天，浏览计数保存两小时。",
            en: "New: 'people whose numbers I have may see me suggested'. Only when you turn it on do the people "
                + "whose numbers you have see you suggested with the reason 'they have your number'; uploading "
                + "your address book alone no longer does. Number change, registration lock and recycled numbers "
                + "under sign-up and sign-in. Abuse prevention: sign-in code counts are kept a day, "
                + "reading counts two hours."
        )
        notice.purposes = notice.purposes.flatMap { purpose -> [Purpose] in
            var purpose = purpose
            switch purpose.id {
            case .account:
                purpose.dataCategories.append("registration-lock-pin-hash")
                purpose.description = LocalizedText(
                    zhCN: purpose.description.zhCN + "您可以用新号码的验证码更换号码；可以设置注册锁 PIN（只保存其 scrypt 哈希），"
                        + "设置后在新设备登录需同时输入 PIN。号码可能被运营商回收再分配：未设注册锁、且 180 天没有登录会话的账号，"
                        + "该号码下次登录时会得到一个全新的空账号，原账号被冻结，不会被新号主打开。",
                    en: purpose.description.en + " You can change your number with a code sent to the new one, and "
                        + "set a registration-lock PIN (we keep only its scrypt hash) that a sign-in on a new device "
                        + "then needs as well. Carriers reassign numbers: when an account without a lock has had no "
                        + "session for 180 days, the next sign-in with its number opens a new, empty account and the "
                        + "old one is frozen, never opened by the number's new holder."
                )
                return [purpose]
            case .contactDiscovery:
                purpose.description = LocalizedText(
                    zhCN: purpose.description.zhCN + "上传通讯录本身不会让您以“对方有您的号码”为理由被推荐给通讯录里的人。",
                    en: purpose.description.en + " Uploading your address book does not by itself make you "
                        + "suggested to the people in it with the reason 'they have your number'."
                )
                return [purpose]
            case .reverseContactSuggestions:
                purpose.description = LocalizedText(
                    zhCN: "打开后，我们会把通讯录里有您号码、并且自己同意“让我通讯录里的人看到对我的推荐”的用户推荐给您，"
                        + "理由注明“对方有您的号码”。默认关闭。",
                    en: "When on, we suggest to you users whose address books contain your number and who themselves "
                        + "agreed that the people whose numbers they have may see them suggested, with the reason "
                        + "'they have your number'. Off by default."
                )
                return [purpose, suggestMeToMyContacts]
            case .abusePrevention:
                purpose.retention = LocalizedText(
                    zhCN: "仅在限额的时间窗口内保存，之后删除：验证码计数 1 天，浏览计数 2 小时，人脉请求 1 天，通讯录匹配额度 20 天。",
                    en: "Only for the window of each limit, then deleted: a day for sign-in code counts, two hours "
                        + "for reading counts, a day for connection requests, 20 days for the address-book quota."
                )
                purpose.description = LocalizedText(
                    zhCN: "为防止验证码轰炸、号码枚举、批量抓取和骚扰，我们按您的客户端 IP 地址及其网段、手机号码或账号计数请求次数，"
                        + "并记录一小时内您浏览了哪些人的资料。IP 地址和号码只以带密钥的哈希保存，从不保存原文。",
                    en: "To stop code pumping, number enumeration, scraping and spam we count requests per client IP "
                        + "address and its network, per phone number and per account, and note whose data you read "
                        + "within the hour. Addresses and numbers are kept only as keyed hashes, never as themselves."
                )
                return [purpose]
            default:
                return [purpose]
            }
        }
        return notice
    }()

    /// PYM-04: the uploader's own consent to being suggested, with the reason "they have your number", to
    /// the people whose numbers they uploaded (who see it only with their reverse-suggestion consent).
    static let suggestMeToMyContacts = Purpose(
        id: .suggestMeToMyContacts,
        basis: .consent,
        dataCategories: ["contact-edges"],
        retentionDays: nil,
        retention: LocalizedText(zhCN: "直至您关闭。", en: "Until you turn it off."),
        title: LocalizedText(
            zhCN: "让我通讯录里的人看到对我的推荐",
            en: "People whose numbers I have may see me suggested"
        ),
        description: LocalizedText(
            zhCN: "打开后，您上传的通讯录里有号码、并且同意接收此类推荐的用户，可能会看到您被推荐给他们，"
                + "理由注明“对方有您的号码”：他们由此得知您的通讯录里有他们的号码。默认关闭。",
            en: "When on, users whose numbers are in the address book you uploaded, and who agreed to such "
                + "suggestions, may see you suggested with the reason 'they have your number': they learn from "
                + "it that your address book holds their number. Off by default."
        ),
        consentRequiredSince: 2
    )

    /// Version 3 (issue 13): invitations a user sends to one person after a preview, and marketing, which
    /// needs its own consent (and a second one to be chosen by profile). Nothing earlier changes, so every
    /// consent given under version 1 or 2 still counts; the two marketing purposes need a consent of version 3.
    public static let version3: PrivacyNotice = {
        var notice = version2
        notice.version = 3
        notice.publishedOn = "2026-12-02"
        notice.changeSummary = LocalizedText(
            zhCN: "新增“邀请”：您可以在看到邀请的完整文字后，逐一邀请一位朋友；我们只为 30 天内同一号码只收到一次邀请而保存该号码的带密钥索引。"
                + "新增“营销信息”和“个性化营销”：均默认关闭，须您单独同意，可随时退订。",
            en: "New: invitations. You may invite one friend at a time after seeing the exact text; to keep any "
                + "number from getting more than one invitation in 30 days we keep a keyed index of it for that "
                + "long. New: marketing messages and personalised marketing, both off unless you agree to each, "
                + "and you can unsubscribe at any time."
        )
        notice.purposes += [invitationsPurpose, marketingPurpose, personalisedMarketingPurpose]
        return notice
    }()

    /// MSG-02..05: a user's invitation of one person, at the user's request.
    static let invitationsPurpose = Purpose(
        id: .invitations,
        basis: .contract,
        dataCategories: ["invitation", "phone-number-blind-index"],
        retentionDays: 30,
        retention: LocalizedText(
            zhCN: "30 天：之后邀请记录与被邀请号码的带密钥索引一并删除；处理记录按“处理记录”保存。",
            en: "30 days: then the invitation and the keyed index of the invited number are deleted; the log "
                + "entry is kept as the processing log is."
        ),
        title: LocalizedText(zhCN: "邀请朋友", en: "Inviting friends"),
        description: LocalizedText(
            zhCN: "只有在您看到邀请的完整文字、并对一位收件人确认后才会发出邀请：文字只含您的显示名称和固定内容，不提及任何其他人。"
                + "默认由您自己的手机发送；只有运营方开启时才由我们以短信发送，且发送的文字与您看到的一字不差。"
                + "同一号码 30 天内只会收到一次邀请；回复 T 或打开链接即可不再收到邀请。",
            en: "An invitation goes only after you saw its exact text and confirmed it for one recipient: it holds "
                + "your display name and fixed words, and names nobody else. Your own phone sends it by default; "
                + "we text it only where the operator turned that on, and then exactly the text you saw. A number "
                + "gets at most one invitation in 30 days; replying STOP or opening the link stops any more."
        )
    )

    /// MSG-06, MSG-07: Kith's own news and offers, only with this consent.
    static let marketingPurpose = Purpose(
        id: .marketing,
        basis: .consent,
        dataCategories: ["phone-number"],
        retentionDays: nil,
        retention: LocalizedText(zhCN: "直至您退订或撤回。", en: "Until you unsubscribe or withdraw."),
        title: LocalizedText(zhCN: "营销信息", en: "Marketing messages"),
        description: LocalizedText(
            zhCN: "同意后，我们可能向您的手机号码发送 Kith 的新功能与优惠信息。每条都注明发送方“【Kith】”并附退订方式（回复 T）；"
                + "退订立即生效。验证码和安全通知的通道从不用于营销。默认关闭。",
            en: "When on, we may text your number news of Kith and offers. Each names the sender ('【Kith】') and "
                + "says how to unsubscribe (reply STOP); unsubscribing takes effect at once. Codes and security "
                + "notices never carry marketing. Off by default."
        ),
        consentRequiredSince: 3
    )

    /// MSG-08, PIPL art. 24: marketing chosen by the person's profile, with its own consent.
    static let personalisedMarketingPurpose = Purpose(
        id: .personalisedMarketing,
        basis: .consent,
        dataCategories: ["profile"],
        retentionDays: nil,
        retention: LocalizedText(zhCN: "不单独保存；每次发送时计算。", en: "Not stored; computed for each campaign."),
        title: LocalizedText(zhCN: "个性化营销", en: "Personalised marketing"),
        description: LocalizedText(
            zhCN: "同意后，我们可能根据您资料中的城市选择向您发送哪些营销信息。关闭后，您收到的营销信息（如已同意营销信息）不使用您的个人特征。默认关闭。",
            en: "When on, we may choose which marketing you receive by the city in your profile. Turned off, the "
                + "marketing you receive (if you agreed to it) uses no personal characteristics. Off by default."
        ),
        consentRequiredSince: 3
    )
}
