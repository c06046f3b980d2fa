import Foundation
import KithCore
import KithStore

/// The development gateway: appends one JSON object per message to a file (`KITH_SMS_OUTBOX`):
/// `{"to","body","kind","sender","sentAt","evidence","messageId"}`.
public actor OutboxGateway: MessageGateway {
    private let path: String

    public init(path: String) { self.path = path }

    struct Line: Encodable {
        var to: String
        var body: String
        var kind: String
        var sender: String
        var sentAt: String
        var evidence: String
        var messageId: String
    }

    public func deliver(_ message: OutboundMessage, sentAt: Int64) async throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let line = Line(
            to: message.to.e164,
            body: message.body,
            kind: message.kind.rawValue,
            sender: message.sender,
            sentAt: formatter.string(from: Date(timeIntervalSince1970: Double(sentAt) / 1000)),
            evidence: message.evidence,
            messageId: message.id
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(line)
        data.append(0x0A)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw KithError(.storeUnavailable, detail: "The message outbox cannot be opened.")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }
}
