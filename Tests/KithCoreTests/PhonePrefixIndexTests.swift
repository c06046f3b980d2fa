import KithCore
import Testing

@Suite("PhonePrefixIndex (CON-02, CON-03)")
struct PhonePrefixIndexTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("membership is exact through builds, inserts and compactions", arguments: [0, 1, 3, 5, 1000, 50_000])
    func membership(initial: Int) {
        var generator = Generator(state: UInt64(initial) + 1)
        var members = (0..<initial).map { _ in generator.next() }
        // Clustered values too, so directory slots hold long runs.
        members += (0..<50).map { UInt64($0) } + (0..<50).map { UInt64.max - UInt64($0) }
        var index = PhonePrefixIndex(prefixes: members)
        for _ in 0..<10_000 {
            let value = generator.next()
            index.insert(value)
            members.append(value)
        }
        let set = Set(members)
        #expect(index.count >= set.count)
        for member in set { #expect(index.contains(member)) }
        var probe = Generator(state: 999)
        for _ in 0..<20_000 {
            let value = probe.next()
            #expect(index.contains(value) == set.contains(value))
        }
        index.compact()
        for member in set { #expect(index.contains(member)) }
    }

    @Test("an index takes at most 12 bytes per entry")
    func compact() {
        var generator = Generator(state: 5)
        let index = PhonePrefixIndex(prefixes: (0..<100_000).map { _ in generator.next() })
        #expect(index.bytesUsed <= 12 * 100_000)
    }
}
