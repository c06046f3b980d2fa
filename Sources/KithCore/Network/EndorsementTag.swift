/// What one person says of a connection (MSG-01): a preset tag or free text.
public enum EndorsementTag: Sendable, Equatable, Hashable {
    case preset(Preset)
    case text(String)

    /// The tags offered in the app.
    public enum Preset: String, Codable, Sendable, CaseIterable {
        case reliable
        case teamPlayer = "team-player"
        case mentor
        case expert
        case creative
        case leader

        public var label: LocalizedText {
            switch self {
            case .reliable: LocalizedText(zhCN: "靠谱", en: "Reliable")
            case .teamPlayer: LocalizedText(zhCN: "团队合作", en: "Team player")
            case .mentor: LocalizedText(zhCN: "好导师", en: "Great mentor")
            case .expert: LocalizedText(zhCN: "专业", en: "Expert")
            case .creative: LocalizedText(zhCN: "有创意", en: "Creative")
            case .leader: LocalizedText(zhCN: "领导力", en: "Leader")
            }
        }
    }

    /// The most characters a free-text tag may have.
    public static let maximumTextLength = 40

    /// How the tag is stored: `preset:<id>` or `text:<words>`.
    public var storedForm: String {
        switch self {
        case .preset(let preset): "preset:" + preset.rawValue
        case .text(let text): "text:" + text
        }
    }

    public init?(storedForm: String) {
        if storedForm.hasPrefix("preset:") {
            guard let preset = Preset(rawValue: String(storedForm.dropFirst(7))) else { return nil }
            self = .preset(preset)
        } else if storedForm.hasPrefix("text:") {
            self = .text(String(storedForm.dropFirst(5)))
        } else {
            return nil
        }
    }

    public func label(_ locale: NoticeLocale) -> String {
        switch self {
        case .preset(let preset): preset.label.text(for: locale)
        case .text(let text): text
        }
    }
}
