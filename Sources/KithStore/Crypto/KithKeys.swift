import Crypto
import Foundation
import KithCore
import Logging

/// The secrets Kith's store needs. All are secrets: never log them, never put them in a URL.
///
/// - `encryption`: AES-256-GCM key for phone numbers and per-subject keys at rest (SEC-02, CON-07).
/// - `blindIndex`: HMAC-SHA256 key for looking phone numbers up without storing them in the clear.
/// - `logSigning`: Ed25519 key that signs the processing log's tree heads (SEC-08).
public struct KithKeys: Sendable {
    /// The signing key, only ever read once made: its storage is immutable bytes, so sharing it between
    /// threads is safe although swift-crypto's type does not say so.
    private struct SigningKey: @unchecked Sendable {
        let key: Curve25519.Signing.PrivateKey
    }

    // Raw bytes, because swift-crypto's key types are not `Sendable` in the version we build with.
    private let encryptionBytes: [UInt8]
    private let blindIndexBytes: [UInt8]

    public var encryption: SymmetricKey { SymmetricKey(data: encryptionBytes) }
    public var blindIndex: SymmetricKey { SymmetricKey(data: blindIndexBytes) }
    /// Made once: making the key from its bytes derives the public key, a scalar multiplication that was
    /// a fifth of every log append's signing.
    public var logSigning: Curve25519.Signing.PrivateKey { logSigningKey.key }
    private let logSigningKey: SigningKey

    public init(encryption: SymmetricKey, blindIndex: SymmetricKey, logSigning: Curve25519.Signing.PrivateKey) {
        self.encryptionBytes = encryption.withUnsafeBytes { Array($0) }
        self.blindIndexBytes = blindIndex.withUnsafeBytes { Array($0) }
        self.logSigningKey = SigningKey(key: logSigning)
    }

    /// Fresh random keys.
    public static func generate() -> KithKeys {
        KithKeys(
            encryption: SymmetricKey(size: .bits256),
            blindIndex: SymmetricKey(size: .bits256),
            logSigning: Curve25519.Signing.PrivateKey()
        )
    }

    /// Keys from base64 text (the `KITH_ENCRYPTION_KEY`, `KITH_BLIND_INDEX_KEY`, `KITH_LOG_SIGNING_KEY`
    /// configuration values).
    public init(encryptionBase64: String, blindIndexBase64: String, logSigningBase64: String) throws {
        func bytes(_ text: String, _ name: String, count: Int) throws -> Data {
            guard let data = Data(base64Encoded: text), data.count == count else {
                throw KithError.invalid(name, "Expected \(count) random bytes in base64.")
            }
            return data
        }
        self.encryptionBytes = Array(try bytes(encryptionBase64, "KITH_ENCRYPTION_KEY", count: 32))
        self.blindIndexBytes = Array(try bytes(blindIndexBase64, "KITH_BLIND_INDEX_KEY", count: 32))
        let signing = try bytes(logSigningBase64, "KITH_LOG_SIGNING_KEY", count: 32)
        self.logSigningKey = SigningKey(key: try Curve25519.Signing.PrivateKey(rawRepresentation: signing))
    }

    private struct File: Codable {
        var encryptionKey: String
        var blindIndexKey: String
        var logSigningKey: String
    }

    /// Loads the development key file, generating it (mode 0600) on first use with a warning.
    ///
    /// For production, pass the keys through configuration instead; a key file next to the database
    /// does not protect a stolen disk.
    public static func loadOrCreate(keyFile path: String, logger: Logger) throws -> KithKeys {
        let url = URL(fileURLWithPath: path)
        if let data = try? Data(contentsOf: url) {
            let file = try JSONDecoder().decode(File.self, from: data)
            return try KithKeys(
                encryptionBase64: file.encryptionKey,
                blindIndexBase64: file.blindIndexKey,
                logSigningBase64: file.logSigningKey
            )
        }
        let keys = KithKeys.generate()
        let file = File(
            encryptionKey: keys.encryption.withUnsafeBytes { Data($0) }.base64EncodedString(),
            blindIndexKey: keys.blindIndex.withUnsafeBytes { Data($0) }.base64EncodedString(),
            logSigningKey: keys.logSigning.rawRepresentation.base64EncodedString()
        )
        let data = try JSONEncoder().encode(file)
        // Keys that were not kept would leave every phone number stored with them unreadable on the next start.
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
        else {
            throw KithError(.internalError, detail: "The development key file could not be written.")
        }
        logger.warning(
            "generated development keys into a local key file; configure KITH_ENCRYPTION_KEY, KITH_BLIND_INDEX_KEY and KITH_LOG_SIGNING_KEY in production",
            metadata: ["keyFile": "\(path)"]
        )
        return keys
    }
}

/// Field encryption and blind indexes for phone numbers (SEC-02, CON-03).
///
/// A phone number is stored as AES-GCM ciphertext and found through `HMAC-SHA256(indexKey, E.164)`:
/// never in the clear, never as an unkeyed (brute-forceable) hash.
public struct PhoneVault: Sendable {
    let keys: KithKeys

    public init(keys: KithKeys) { self.keys = keys }

    /// The keyed blind index of a number, as lower-case hex.
    public func blindIndex(_ phone: PhoneNumber) -> String {
        blindIndexer().index(phone).hexString
    }

    /// The raw 32-byte blind index (for compact in-memory match indexes).
    public func blindIndexBytes(_ phone: PhoneNumber) -> [UInt8] {
        blindIndexer().index(phone).bytes
    }

    /// A blind indexer with the key schedule done, for indexing many numbers.
    public func blindIndexer() -> BlindIndexer { BlindIndexer(key: keys.blindIndex) }

    public func encrypt(_ phone: PhoneNumber) throws -> String {
        try seal(Array(phone.e164.utf8))
    }

    public func decryptPhone(_ cipher: String) throws -> PhoneNumber {
        let plain = try open(cipher)
        guard case .success(let phone) = PhoneNumber.parseE164(String(decoding: plain, as: UTF8.self)) else {
            throw KithError(.internalError, detail: "A stored phone number could not be read.")
        }
        return phone
    }

    public func seal(_ plain: [UInt8]) throws -> String { try sealedBox(plain).base64EncodedString() }

    /// AES-GCM's combined box (nonce, cipher text, tag) of `plain`.
    public func sealedBox(_ plain: [UInt8]) throws -> Data {
        guard let combined = try AES.GCM.seal(plain, using: keys.encryption).combined else {
            throw KithError(.internalError, detail: "Encryption failed.")
        }
        return combined
    }

    public func open(_ cipher: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: cipher) else {
            throw KithError(.internalError, detail: "A stored value could not be read.")
        }
        return try open(box: data)
    }

    /// The plain bytes of a combined box from ``sealedBox(_:)``.
    public func open(box: Data) throws -> [UInt8] {
        Array(try AES.GCM.open(AES.GCM.SealedBox(combined: box), using: keys.encryption))
    }

    /// A keyed digest for secrets that are only ever compared (verification codes, client addresses).
    public func keyedDigest(_ domain: String, _ value: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Array((domain + "\u{0}" + value).utf8), using: keys.blindIndex).hexString
    }
}

/// Keys never print themselves: a service's description (ServiceLifecycle logs it at debug level) or any
/// value holding keys shows `KithKeys(redacted)`, never their bytes.
extension KithKeys: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "KithKeys(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
