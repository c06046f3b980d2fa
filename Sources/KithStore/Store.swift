import Crypto
import Foundation
import KithCore
import Logging
import SQLKit

/// The store's capabilities, composed over one database: accounts, sessions, the consent ledger, the
/// processing gate and log, rate limits.
public struct KithStore: Sendable {
    public let database: KithDatabase
    public let vault: PhoneVault
    public let log: ProcessingLog
    public let catalogue: PurposeCatalogue
    public let clock: WallClock
    /// Group commit for the entries of read-side derivations.
    let readLog = GroupCommitLog()
    /// The sessions this node has found recently (issue 12), kept in step by ``SessionRevocationFeed``.
    let sessions = SessionCache()

    public init(
        database: KithDatabase,
        keys: KithKeys,
        catalogue: PurposeCatalogue = .standard,
        clock: WallClock = .system
    ) {
        self.database = database
        self.vault = PhoneVault(keys: keys)
        self.log = ProcessingLog(keys: keys)
        // The notice lists the categories the data inventory declares (ACC-01, SEC-07).
        self.catalogue = catalogue.describing(.kith)
        self.clock = clock
    }

    var gate: ProcessingGate { ProcessingGate(store: self) }

    /// Logs a read-side derivation about other people (suggestions, the second degree, explanations):
    /// one entry per request naming the viewer, group-committed with concurrent requests' entries.
    @discardableResult
    func logDerivation(_ act: ProcessingAct) async throws -> ProcessingEntry {
        try await readLog.record(act, store: self)
    }
}

/// Random tokens and identifiers.
enum Random {
    /// Eight bytes per draw from the system's generator: one draw per byte was one `getrandom` call per
    /// byte, thirty-two for a token.
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// URL-safe base64 without padding.
    static func token(_ count: Int = 32) -> String { bytes(count).base64URLString }

    static func digits(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
    }
}
