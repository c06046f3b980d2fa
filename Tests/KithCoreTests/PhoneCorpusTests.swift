import Foundation
import KithCore
import Testing

/// The differential test of issue 11: Kith against libphonenumber (its Python port, `phonenumbers` 9.0.43 —
/// the release Kith's tables are generated from) on the corpus `scripts/phone-metadata.sh` writes: numbers of
/// every region, entity and type, in the written forms address books hold, each labelled by libphonenumber
/// reading that exact text under that default region.
@Suite("PhoneNumber: the corpus libphonenumber labelled")
struct PhoneCorpusTests {
    struct Entry: Decodable {
        var region: String
        var form: String
        var input: String
        var e164: String?
        var type: String?
    }

    static let corpus: [Entry] = {
        guard
            let url = Bundle.module.url(forResource: "phone-corpus", withExtension: "jsonl", subdirectory: "Fixtures"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(Entry.self, from: Data($0.utf8)) }
    }()

    @Test("the corpus covers every region of the metadata, in every written form, at least 10,000 numbers")
    func covers() throws {
        let corpus = Self.corpus
        #expect(corpus.count >= 10_000)
        let regions = Set(corpus.map(\.region))
        let missing = PhoneNumber.Region.all.map(\.code).filter { !regions.contains($0) }
        #expect(missing.isEmpty, "regions the corpus does not read under: \(missing)")
        let forms = Set(corpus.map(\.form))
        for form in ["e164", "national", "rfc3966", "fullwidth", "dashes", "label", "extension", "invisible", "idd"] {
            #expect(forms.contains(form), "no \(form) form in the corpus")
        }
    }

    @Test("ACC-12, CON-03: Kith's E.164 agrees with libphonenumber's on at least 99.5% of valid numbers, types too")
    func validNumbersAgree() {
        let valid = Self.corpus.filter { $0.e164 != nil }
        var agree = 0
        var typeAgree = 0
        var disagreements: [String] = []
        for entry in valid {
            guard let region = PhoneNumber.Region(code: entry.region) else {
                disagreements.append("\(entry.region) unknown region")
                continue
            }
            switch PhoneNumber.parse(entry.input, defaultRegion: region) {
            case .success(let number) where number.e164 == entry.e164:
                agree += 1
                if number.type.libphonenumberName == entry.type {
                    typeAgree += 1
                } else {
                    disagreements.append(
                        "type \(entry.region) \(entry.form) \(entry.input.debugDescription): "
                            + "\(entry.type ?? "") vs \(number.type.libphonenumberName)"
                    )
                }
            case .success(let number):
                disagreements.append(
                    "e164 \(entry.region) \(entry.form) \(entry.input.debugDescription): \(entry.e164 ?? "") vs \(number.e164)"
                )
            case .failure(let failure):
                disagreements.append(
                    "refused \(entry.region) \(entry.form) \(entry.input.debugDescription): \(entry.e164 ?? "") vs \(failure)"
                )
            }
        }
        let share = Double(agree) / Double(max(valid.count, 1))
        print("phone corpus: \(agree)/\(valid.count) valid numbers agree, types \(typeAgree)/\(agree)")
        for line in disagreements.prefix(50) { print("  \(line)") }
        #expect(valid.count >= 10_000)
        #expect(share >= 0.995, "valid numbers agreeing: \(agree)/\(valid.count)")
        #expect(Double(typeAgree) >= 0.995 * Double(agree), "types agreeing: \(typeAgree)/\(agree)")
    }

    @Test("ACC-12, CON-03: at least 99% of the texts libphonenumber calls invalid are refused")
    func invalidNumbersRefused() {
        let invalid = Self.corpus.filter { $0.e164 == nil }
        var refused = 0
        var accepted: [String] = []
        for entry in invalid {
            guard let region = PhoneNumber.Region(code: entry.region) else { continue }
            switch PhoneNumber.parse(entry.input, defaultRegion: region) {
            case .failure: refused += 1
            case .success(let number):
                accepted.append("\(entry.region) \(entry.form) \(entry.input.debugDescription) as \(number.e164)")
            }
        }
        print("phone corpus: \(refused)/\(invalid.count) invalid texts refused")
        for line in accepted.prefix(50) { print("  \(line)") }
        #expect(invalid.count >= 1_000)
        #expect(Double(refused) >= 0.99 * Double(invalid.count), "refused: \(refused)/\(invalid.count)")
    }
}
