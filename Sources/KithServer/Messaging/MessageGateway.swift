import Foundation
import KithCore
import KithStore
import SQLKit

/// A message for a phone: what the SMS provider receives.
public struct OutboundMessage: Sendable {
    public enum Kind: String, Sendable, Codable {
        case verification
        case numberOptOut = "number-opt-out"
        case invitation

        /// Messages the recipient asked for themselves (a code they requested); every other kind is
        /// unsolicited and never goes to a suppressed number (CON-08, MSG-05).
        public var requestedByRecipient: Bool { self == .verification || self == .numberOptOut }
    }

    public var to: PhoneNumber
    public var body: String
    public var kind: Kind
    /// The processing-log entry that authorised this message (`log:<seq>`, MSG-04).
    public var evidence: String

    public init(to: PhoneNumber, body: String, kind: Kind, evidence: String) {
        self.to = to
        self.body = body
        self.kind = kind
        self.evidence = evidence
    }
}

/// The edge of the world where messages leave Kith: an SMS provider, or the development outbox.
public protocol MessageGateway: Sendable {
    func deliver(_ message: OutboundMessage, sentAt: Int64) async throws
}

/// The development gateway: appends one JSON object per message to a file (`KITH_SMS_OUTBOX`):
/// `{"to","body","kind","sentAt","evidence"}`.
public actor OutboxGateway: MessageGateway {
    private let path: String

    public init(path: String) { self.path = path }

    struct Line: Encodable {
        var to: String
        var body: String
        var kind: String
        var sentAt: String
        var evidence: String
    }

    public func deliver(_ message: OutboundMessage, sentAt: Int64) async throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let line = Line(
            to: message.to.e164,
            body: message.body,
            kind: message.kind.rawValue,
            sentAt: formatter.string(from: Date(timeIntervalSince1970: Double(sentAt) / 1000)),
            evidence: message.evidence
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(line)
        data.append(0x0A)
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
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

/// Sends messages only with the evidence of the processing-log entry that authorised them (MSG-04):
/// a message without it, or whose entry does not exist, is refused and never reaches the gateway.
public struct MessageDispatcher: Sendable {
    let gateway: any MessageGateway
    let store: KithStore

    public init(gateway: any MessageGateway, store: KithStore) {
        self.gateway = gateway
        self.store = store
    }

    public func send(_ message: OutboundMessage) async throws {
        guard message.evidence.hasPrefix("log:"), let seq = Int(message.evidence.dropFirst(4)), seq > 0 else {
            throw KithError(.forbidden, detail: "A message without processing-log evidence is never sent.")
        }
        let exists = try await store.database.read { sql in
            try await sql.raw("SELECT seq FROM processing_log WHERE seq = \(bind: seq)").first() != nil
        }
        guard exists else {
            throw KithError(.forbidden, detail: "A message whose evidence is not in the processing log is never sent.")
        }
        if !message.kind.requestedByRecipient, try await NumberSuppressions(store: store).isSuppressed(message.to) {
            throw KithError(.forbidden, detail: "The holder of this number asked never to be contacted.")
        }
        try await gateway.deliver(message, sentAt: store.clock.nowMillis)
    }
}
