import Crypto
import Foundation
import _CryptoExtras

/// A registration-lock PIN as Kith keeps it: scrypt with a random salt, never the PIN nor a fast hash of
/// it (ACC-12; issue 15 §6). Stored as `scrypt$N$r$p$salt$key` (base64), so the cost can rise later and
/// old hashes still verify.
enum RegistrationLock {
    /// 2^15 rounds, block size 8: 32 MiB and tens of milliseconds per guess.
    static let rounds = 1 << 15
    static let blockSize = 8
    static let parallelism = 1
    static let keyLength = 32
    static let maxMemory = 64 << 20

    /// A PIN is 6 to 12 ASCII digits.
    static func isValid(_ pin: String) -> Bool {
        (6...12).contains(pin.utf8.count) && pin.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    static func hash(_ pin: String) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = try derive(pin, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        return "scrypt$\(rounds)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$"
            + Data(key).base64EncodedString()
    }

    /// Whether `pin` is the PIN `stored` was made from; a malformed `stored` matches nothing.
    static func matches(_ pin: String, _ stored: String) throws -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let rounds = Int(parts[1]), let blockSize = Int(parts[2]),
            let parallelism = Int(parts[3]), let salt = Data(base64Encoded: parts[4]),
            let expected = Data(base64Encoded: parts[5])
        else { return false }
        let key = try derive(pin, salt: Array(salt), rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        guard key.count == expected.count else { return false }
        return zip(key, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func derive(
        _ pin: String,
        salt: [UInt8],
        rounds: Int,
        blockSize: Int,
        parallelism: Int
    ) throws
        -> [UInt8]
    {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(pin.utf8),
            salt: salt,
            outputByteCount: keyLength,
            rounds: rounds,
            blockSize: blockSize,
            parallelism: parallelism,
            maxMemory: maxMemory
        )
        return key.withUnsafeBytes { Array($0) }
    }
}
