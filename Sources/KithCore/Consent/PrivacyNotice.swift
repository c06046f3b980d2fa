import Crypto

/// One published version of the privacy notice (ACC-01): who processes, for which purposes, how,
/// what, how long, and how to exercise rights.
public struct PrivacyNotice: Sendable, Equatable {
    public var version: Int
    public var publishedOn: String
    public var controller: LocalizedText
    public var contact: String
    public var purposes: [Purpose]
    public var rights: LocalizedText
    /// What changed since the previous version (ACC-06).
    public var changeSummary: LocalizedText

    public init(
        version: Int,
        publishedOn: String,
        controller: LocalizedText,
        contact: String,
        purposes: [Purpose],
        rights: LocalizedText,
        changeSummary: LocalizedText
    ) {
        self.version = version
        self.publishedOn = publishedOn
        self.controller = controller
        self.contact = contact
        self.purposes = purposes
        self.rights = rights
        self.changeSummary = changeSummary
    }

    public func purpose(_ id: PurposeID) -> Purpose? { purposes.first { $0.id == id } }

    /// The full notice as plain text (Markdown) in one language; what a person reads and can save.
    public func text(_ locale: NoticeLocale) -> String {
        let zh = locale == .zhCN
        var lines: [String] = []
        lines.append(
            zh
                ? "# Kith 隐私政策（第 \(version) 版，\(publishedOn)）"
                : "# Kith privacy notice (version \(version), \(publishedOn))"
        )
        lines.append("")
        lines.append((zh ? "个人信息处理者：" : "Processor: ") + controller.text(for: locale))
        lines.append((zh ? "联系方式：" : "Contact: ") + contact)
        lines.append("")
        lines.append(zh ? "## 本版变更" : "## What changed in this version")
        lines.append(changeSummary.text(for: locale))
        lines.append("")
        lines.append(zh ? "## 处理目的、方式、信息种类与保存期限" : "## Purposes, methods, categories and retention")
        for purpose in purposes {
            lines.append("")
            lines.append("### " + purpose.title.text(for: locale) + " (`\(purpose.id.rawValue)`)")
            lines.append(purpose.description.text(for: locale))
            lines.append((zh ? "法律依据：" : "Legal basis: ") + purpose.basis.rawValue)
            lines.append((zh ? "信息种类：" : "Categories: ") + purpose.dataCategories.joined(separator: ", "))
            lines.append((zh ? "保存期限：" : "Retention: ") + purpose.retention.text(for: locale))
        }
        lines.append("")
        lines.append(zh ? "## 您的权利" : "## Your rights")
        lines.append(rights.text(for: locale))
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// Lower-case hex SHA-256 of the UTF-8 bytes.
    public var sha256Hex: String {
        SHA256.hash(data: Array(self.utf8)).hexString
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal text of the bytes, written straight into the string's storage (a token's
    /// hash is taken on every request).
    public var hexString: String {
        let bytes = Array(self)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for (offset, byte) in bytes.enumerated() {
                buffer[offset * 2] = digits.utf8Start[Int(byte >> 4)]
                buffer[offset * 2 + 1] = digits.utf8Start[Int(byte & 0x0f)]
            }
            return bytes.count * 2
        }
    }
}
