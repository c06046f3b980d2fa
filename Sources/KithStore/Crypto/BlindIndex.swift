// BoringSSL's SHA-256 context itself, under swift-crypto's `SHA256`: its public wrapper allocates on every copy.
internal import CCryptoBoringSSL
import Crypto
import KithCore

/// A phone number's blind index, `HMAC-SHA256(indexKey, E.164)`, held inline as four big-endian words.
///
/// Contact discovery computes one per uploaded number and forgets almost all of them (CON-03); this type
/// keeps them off the heap and orders them as their bytes, so sorting it sorts the raw indexes.
public struct BlindIndex: Hashable, Comparable, Sendable {
    /// Bytes 0–7, 8–15, 16–23 and 24–31, each read as a big-endian integer.
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// Reads 32 bytes.
    init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32, "a blind index has 32 bytes")
        func word(_ offset: Int) -> UInt64 {
            UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        words = (word(0), word(8), word(16), word(24))
    }

    /// The first 8 bytes as an integer: the entry of a ``PhonePrefixIndex``.
    public var prefix: UInt64 { words.0 }

    /// Calls `body` with the 32 bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let bigEndian = (words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian)
        return try Swift.withUnsafeBytes(of: bigEndian) { try body($0) }
    }

    /// The 32 bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lower-case hex, as stored in `phone_index` columns.
    public var hexString: String { withUnsafeBytes { $0.hexString } }

    public static func == (lhs: BlindIndex, rhs: BlindIndex) -> Bool {
        lhs.words == rhs.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    public static func < (lhs: BlindIndex, rhs: BlindIndex) -> Bool {
        lhs.words < rhs.words
    }
}

/// Computes blind indexes with the HMAC key schedule done once.
///
/// `HMAC(K, m) = H(K⊕opad ‖ H(K⊕ipad ‖ m))`: the two SHA-256 states after absorbing the padded key are
/// kept, and each number starts from copies of them, so a number costs the compression of its own block
/// and of the outer digest. Where swift-crypto uses BoringSSL, the states are BoringSSL's `SHA256_CTX`
/// (the implementation under swift-crypto's `SHA256`, with the CPU's SHA extensions): plain structs
/// copied on the stack, where copying the public `SHA256` allocates, which made the wrapper cost more
/// than the hashing for 1,000 numbers. Elsewhere the public `SHA256` is copied. ``BlindIndexTests``
/// checks every index against swift-crypto's `HMAC<SHA256>`.
///
/// Not `Sendable` (it is cheap): make one per request with ``PhoneVault/blindIndexer()``.
public final class BlindIndexer {
    #if canImport(CCryptoBoringSSL)
    private let inner: SHA256_CTX
    private let outer: SHA256_CTX
    #else
    private let inner: SHA256
    private let outer: SHA256
    #endif

    init(key: SymmetricKey) {
        var block = [UInt8](repeating: 0, count: SHA256.blockByteCount)
        key.withUnsafeBytes { key in
            if key.count > block.count {
                SHA256.hash(data: key).withUnsafeBytes { block.replaceSubrange(0..<$0.count, with: $0) }
            } else {
                block.replaceSubrange(0..<key.count, with: key)
            }
        }
        #if canImport(CCryptoBoringSSL)
        var inner = SHA256_CTX()
        CCryptoBoringSSL_SHA256_Init(&inner)
        CCryptoBoringSSL_SHA256_Update(&inner, block.map { $0 ^ 0x36 }, block.count)
        var outer = SHA256_CTX()
        CCryptoBoringSSL_SHA256_Init(&outer)
        CCryptoBoringSSL_SHA256_Update(&outer, block.map { $0 ^ 0x5c }, block.count)
        #else
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5c })
        #endif
        self.inner = inner
        self.outer = outer
    }

    /// The blind index of a number; equal to `HMAC<SHA256>.authenticationCode(for: e164, using: key)`.
    public func index(_ phone: PhoneNumber) -> BlindIndex {
        var inner = self.inner
        var outer = self.outer
        #if canImport(CCryptoBoringSSL)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            phone.withE164Bytes { _ = CCryptoBoringSSL_SHA256_Update(&inner, $0.baseAddress, $0.count) }
            CCryptoBoringSSL_SHA256_Final(digest.baseAddress, &inner)
            CCryptoBoringSSL_SHA256_Update(&outer, digest.baseAddress, 32)
            CCryptoBoringSSL_SHA256_Final(digest.baseAddress, &outer)
            return BlindIndex(bytes: UnsafeRawBufferPointer(digest))
        }
        #else
        phone.withE164Bytes { inner.update(bufferPointer: $0) }
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes { BlindIndex(bytes: $0) }
        #endif
    }
}
