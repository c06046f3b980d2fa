import Crypto
import Foundation
import KithCore
import Logging
import SQLKit

/// A registered person's identifier.
public struct UserID: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> UserID { UserID(rawValue: UUID().uuidString.lowercased()) }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The store's capabilities, composed over one database: accounts, sessions, the consent ledger, the
/// processing gate and log, rate limits.
public struct KithStore: Sendable {
    public let database: KithDatabase
    public let vault: PhoneVault
    public let log: ProcessingLog
    public let catalogue: PurposeCatalogue
    public let clock: WallClock

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

    public var gate: ProcessingGate { ProcessingGate(store: self) }
}

/// Random tokens and identifiers.
enum Random {
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// URL-safe base64 without padding.
    static func token(_ count: Int = 32) -> String {
        Data(bytes(count)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func digits(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
    }
}
