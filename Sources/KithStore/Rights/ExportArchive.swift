import Crypto
import Foundation
import KithCore
import ZIPFoundation

/// The export as a person downloads it (DSR-01): a ZIP with `data.json` (``ExportDocument``) and
/// `index.html`, a statement in zh-CN and en that opens offline — text, never pictures of text.
public enum ExportArchive {
    public static let dataName = "data.json"
    public static let statementName = "index.html"

    public static func zip(_ document: ExportDocument) async throws -> Data {
        let encoder = JSONEncoder()
        // Compact: data.json is for programs (and verify-export); index.html is the one for reading. Pretty
        // printing made it half as large again and its encoding a third slower.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The two files are written side by side, on two cores where there are two.
        async let encoded = encoder.encode(document)
        let html = Data(statement(document).utf8)
        let json = try await encoded
        let archive = try Archive(accessMode: .create)
        let modified = Date(timeIntervalSince1970: Double(document.exportedAt) / 1000)
        for (name, content) in [(dataName, json), (statementName, html)] {
            try archive.addEntry(
                with: name,
                type: .file,
                uncompressedSize: Int64(content.count),
                modificationDate: modified,
                compressionMethod: .deflate
            ) { position, size in
                content.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else {
            throw KithError(.internalError, detail: "The export could not be packed.")
        }
        return data
    }

    /// The two files of an export archive.
    /// - Throws: `invalid-field` (`file`) when it is not an export archive.
    public static func read(_ data: Data) throws -> (document: ExportDocument, statement: String) {
        func file(_ archive: Archive, _ name: String) throws -> Data {
            guard let entry = archive[name] else {
                throw KithError.invalid("file", "This is not a Kith export: it has no \(name).")
            }
            var content = Data()
            _ = try archive.extract(entry) { content.append($0) }
            return content
        }
        let archive: Archive
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw KithError.invalid("file", "This is not a ZIP archive.")
        }
        let document = try JSONDecoder().decode(ExportDocument.self, from: try file(archive, dataName))
        return (document, String(decoding: try file(archive, statementName), as: UTF8.self))
    }

    /// Checks every log entry of an export against its signed tree head (DSR-01): with `publicKey` (base64
    /// of the raw Ed25519 key) as the operator publishes it, or the key the export names.
    /// - Returns: what is wrong; empty when every entry is proved.
    public static func verify(_ document: ExportDocument, publicKey: String? = nil) -> [String] {
        guard let raw = Data(base64Encoded: publicKey ?? document.log.publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return ["the public key is not a base64 Ed25519 public key"] }
        return ProcessingLog.check(document.log.entries, head: document.log.treeHead, publicKey: key)
    }

    /// Section titles for the tables a person has rows in, in both languages; others show the table name.
    static let titles: [String: (zh: String, en: String)] = [
        "users": ("账号", "Account"),
        "profiles": ("个人资料与可见范围", "Profile and who sees each field"),
        "consents": ("同意记录", "Consents"),
        "sessions": ("登录会话", "Sessions"),
        "contact_edges": ("你上传的通讯录中匹配到的人", "People your uploaded contacts matched"),
        "discovery_tokens": ("通讯录上传", "Contact uploads"),
        "connections": ("好友关系", "Connections"),
        "connection_requests": ("好友请求", "Connection requests"),
        "blocks": ("你屏蔽的人", "People you blocked"),
        "endorsements": ("认可（给出与收到）", "Endorsements given and received"),
        "suggestion_dismissals": ("你不想再看到的推荐", "Suggestions you dismissed"),
        "outbound_messages": ("发给你的消息", "Messages sent to you"),
        "account_deletions": ("注销申请", "Account deletion"),
        "rate_buckets": ("用量计数", "Usage counters"),
    ]

    /// `text` safe inside HTML text and attribute values. Works on the UTF-8 bytes (the five characters it
    /// replaces are ASCII) and returns the text itself when there is nothing to replace: the statement
    /// escapes every log entry, thousands of JSON texts full of quotes.
    static func escape(_ text: String) -> String {
        let special: (UInt8) -> Bool = { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }
        guard text.utf8.contains(where: special) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + text.utf8.count / 4)
        for byte in text.utf8 {
            switch byte {
            case 0x26: bytes.append(contentsOf: "&amp;".utf8)
            case 0x3C: bytes.append(contentsOf: "&lt;".utf8)
            case 0x3E: bytes.append(contentsOf: "&gt;".utf8)
            case 0x22: bytes.append(contentsOf: "&quot;".utf8)
            case 0x27: bytes.append(contentsOf: "&#39;".utf8)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The readable statement: every exported row, the facts, what is withheld and why, and the log.
    public static func statement(_ document: ExportDocument) -> String {
        var html = """
            <!doctype html>
            <html lang="zh-CN"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Kith 个人信息副本 · Your Kith data</title>
            <style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}table{border-collapse:collapse;
            margin:.5rem 0 1.5rem}td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top;
            font-size:.9rem}th{background:#f3f3f3}span[lang=en]{color:#555}</style></head><body>
            <h1>Kith 个人信息副本 <span lang="en">Your Kith data</span></h1>

            """
        let exported = Date(timeIntervalSince1970: Double(document.exportedAt) / 1000)
        html += "<p>导出时间 <span lang=\"en\">Exported</span>: \(escape(exported.ISO8601Format()))</p>\n"
        html += "<p>账号 <span lang=\"en\">Account</span>: \(escape(document.userId)) · "
        html += "手机号 <span lang=\"en\">Phone</span>: \(escape(document.phone))</p>\n"
        for name in document.tables.keys.sorted() {
            let rows = document.tables[name] ?? []
            let title = titles[name] ?? (name, name)
            html += "<h2>\(escape(title.zh)) <span lang=\"en\">\(escape(title.en))</span> (\(rows.count))</h2>\n"
            guard let first = rows.first else {
                html += "<p>无 <span lang=\"en\">None</span></p>\n"
                continue
            }
            let columns = first.keys.sorted()
            html += "<table><tr>" + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            for row in rows {
                html += "<tr>" + columns.map { "<td>\(escape(row[$0]?.display ?? "—"))</td>" }.joined() + "</tr>\n"
            }
            html += "</table>\n"
        }
        html += "<h2>其他事实 <span lang=\"en\">Facts</span></h2>\n<ul>\n"
        for fact in document.facts where fact.table == "contact_edges" {
            html += "<li>\(fact.count) 位 Kith 用户的通讯录中有你的号码（不告诉你是谁）。"
            html += "<span lang=\"en\">\(fact.count) people who use Kith have your number in their contacts "
            html += "(who they are is theirs to tell).</span></li>\n"
        }
        html += "</ul>\n<h2>保存但不导出的信息 <span lang=\"en\">Kept but not exported, and why</span></h2>\n"
        html += "<table><tr><th>table</th><th>column</th><th>reason</th></tr>\n"
        for item in document.withheld {
            html += "<tr><td>\(escape(item.table))</td><td>\(escape(item.column))</td>"
            html += "<td>\(escape(item.reason))</td></tr>\n"
        }
        html += "</table>\n"
        html += "<h2>处理记录 <span lang=\"en\">Processing log</span> (\(document.log.entries.count))</h2>\n"
        html += "<p>每条记录都附有包含证明，可用 <code>kith ledger verify-export</code> 离线核验。"
        html += "<span lang=\"en\">Each entry carries an inclusion proof in the log's signed tree (size "
        html += "\(document.log.treeHead.treeSize), root \(escape(document.log.treeHead.root))); "
        html += "<code>kith ledger verify-export</code> checks them offline.</span></p>\n"
        html += "<table><tr><th>#</th><th>entry</th></tr>\n"
        for proof in document.log.entries {
            html += "<tr><td>\(proof.seq)</td><td><code>\(escape(proof.entry))</code></td></tr>\n"
        }
        html += "</table>\n</body></html>\n"
        return html
    }
}
