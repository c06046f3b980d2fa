import Crypto
import KithCore
import Testing

@testable import KithStore

@Suite("Blind indexes (SEC-02, CON-03)")
struct BlindIndexTests {
    @Test("the precomputed indexer equals HMAC-SHA256 of the E.164 text, for any key")
    func equalsHMAC() throws {
        for _ in 0..<20 {
            let key = SymmetricKey(size: .bits256)
            let keys = KithKeys(encryption: SymmetricKey(size: .bits256), blindIndex: key, logSigning: .init())
            let vault = PhoneVault(keys: keys)
            let indexer = vault.blindIndexer()
            for input in ["+8613800138000", "+14155550100", "+85261234567", "+442079460958", "+6581234567"] {
                let phone = try PhoneNumber.parse(input).get()
                let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: key))
                let index = indexer.index(phone)
                #expect(index.bytes == expected)
                #expect(index.hexString == expected.hexString)
                #expect(vault.blindIndex(phone) == expected.hexString)
                #expect(index.prefix == PhonePrefixIndex.prefix(of: expected))
            }
        }
    }

    @Test("blind indexes sort as their bytes")
    func order() throws {
        let indexer = PhoneVault(keys: .generate()).blindIndexer()
        let indexes = try (0..<200).map { try indexer.index(PhoneNumber.parse("+86139\(10_000_000 + $0)").get()) }
        let byBytes = indexes.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        #expect(indexes.sorted() == byBytes)
        #expect(Set(indexes).count == indexes.count)
    }
}
