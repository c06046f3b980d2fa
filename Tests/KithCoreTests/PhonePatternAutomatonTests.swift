import Testing

@testable import KithCore

/// The digit automata that match national numbers must answer exactly as the backtracking machine (which
/// follows the Java and Python engines) on every pattern of the metadata.
@Suite("PhonePattern: the digit automaton agrees with backtracking")
struct PhonePatternAutomatonTests {
    @Test("ACC-12: every number pattern of every region, on digit strings of every possible length")
    func automatonAgrees() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var patterns = 0
        var withAutomaton = 0
        var checked = 0
        var disagreements: [String] = []
        for record in PhoneMetadata.all.records {
            for case let description? in record.descriptions {
                patterns += 1
                guard description.pattern.hasAutomaton else { continue }
                withAutomaton += 1
                for length in 1...17 {
                    for attempt in 0..<12 {
                        // Random digits, and as many ending in 0; the matching strings are the corpus's numbers.
                        let digits: [UInt32] = (0..<length).map { _ in 0x30 + UInt32(random(10)) }
                        let input = attempt % 2 == 0 ? digits : Array(digits.prefix(max(1, length - 1))) + [0x30]
                        let automaton = input.withUnsafeBufferPointer { description.pattern.matchesWhole($0) }
                        let backtracking = input.withUnsafeBufferPointer {
                            description.pattern.matchesWholeByBacktracking($0)
                        }
                        checked += 1
                        if automaton != backtracking, disagreements.count < 20 {
                            disagreements.append(
                                "\(record.id) \(String(decoding: input.map { UInt8($0) }, as: UTF8.self))"
                            )
                        }
                    }
                }
            }
        }
        print("digit automata: \(withAutomaton)/\(patterns) patterns, \(checked) strings compared")
        #expect(disagreements.isEmpty, "\(disagreements)")
        #expect(withAutomaton * 100 >= patterns * 95, "most patterns should have an automaton")
    }
}
