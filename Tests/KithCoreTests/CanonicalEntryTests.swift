import KithCore
import PropertyBased
import Testing

/// The log's leaf bytes are written by hand for speed; they must stay the bytes `JSONEncoder` wrote, or
/// every entry logged before would stop verifying.
@Suite("Canonical log entry bytes")
struct CanonicalEntryTests {
    /// Every ASCII character, the JSON-escaped ones among them, and text in other scripts and planes.
    static let alphabet: [String] =
        (0..<128).map { String(UnicodeScalar(UInt8($0))) } + [
            "é", "中", "文", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{00A0}", "😀", "\u{10FFFF}",
        ]
    static let character = Gen.element(of: alphabet).map { $0! }
    static let text = character.array(of: 0...24).map { $0.joined() }
    static let optionalText = zip(Gen.bool, text).map { present, text in present ? text : nil }
    static let asciiKey = Gen.element(of: alphabet.filter { $0.utf8.first! >= 0x20 }).map { $0! }.array(of: 1...10)
        .map { $0.joined() }
    static let evidence = zip(Gen.bool, zip(asciiKey, text).array(of: 0...5)).map { present, pairs in
        present ? Dictionary(pairs, uniquingKeysWith: { first, _ in first }) : nil
    }
    static let initiation = zip(
        Gen.element(of: [Initiation.Kind.userRequest, .operatorCommand, .system]).map { $0! },
        text,
        optionalText,
        optionalText
    ).map { kind, action, request, session in
        Initiation(kind: kind, action: action, request: request, session: session)
    }
    static let entry = zip(
        zip(Gen.int(in: 1...Int.max), Gen.int64(), text, optionalText),
        zip(text, Gen.element(of: LegalBasis.allCases).map { $0! }, optionalText),
        zip(initiation, character.array(of: 0...200).map { $0.joined() }, evidence)
    ).map { head, basis, rest in
        ProcessingEntry(
            seq: head.0,
            at: head.1,
            actor: head.2,
            subject: head.3,
            purpose: PurposeID(rawValue: basis.0),
            basis: basis.1,
            basisRef: basis.2,
            initiation: rest.0,
            detail: rest.1,
            evidence: rest.2
        )
    }

    @Test("SEC-08 the hand-written canonical bytes equal JSONEncoder's with sorted keys, for any entry")
    func handWrittenEqualsEncoder() async {
        await propertyCheck(count: 5_000, input: Self.entry) { entry in
            #expect(entry.canonicalJSON() == entry.encodedJSON())
        }
    }

    @Test("SEC-08 an entry with non-ASCII evidence keys is written by the encoder itself")
    func nonASCIIKeys() {
        let entry = ProcessingEntry(
            seq: 1,
            at: 0,
            actor: "system",
            subject: nil,
            purpose: "security",
            basis: .legalObligation,
            basisRef: nil,
            initiation: Initiation(kind: .system, action: "sweep"),
            detail: "",
            evidence: ["é": "1", "z": "2", "a": "3"]
        )
        #expect(entry.canonicalJSON() == entry.encodedJSON())
    }
}
