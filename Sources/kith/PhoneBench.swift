import ArgumentParser
import Foundation
import KithCore
import KithGraph
import KithStore

/// `kith bench phones`: reading and blind-indexing 1,000 address-book numbers on one core (issue 11: ≤ 1 ms).
///
/// Two uploads: the discovery bench's (E.164, China) and an address book's mix of written forms and
/// regions. The blind index's HMAC alone is measured in the same run as the reference (the part of the
/// work that is not parsing); run under `taskset -c 0`.
struct PhoneBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "phones")

    @Option(help: "Rounds of 1,000 numbers timed per measurement.")
    var rounds = 2_000

    func run() async throws {
        let vault = PhoneVault(keys: KithKeys.generate())
        print("measuring on cores: \(DiscoveryBench.allowedCores); phone metadata \(PhoneNumber.metadataRelease)")
        let compiling = DispatchTime.now().uptimeNanoseconds
        _ = PhoneNumber.parse("+8613800138000")  // the tables are compiled on first use
        let compiled = Double(DispatchTime.now().uptimeNanoseconds - compiling) / 1e6
        print(String(format: "tables compiled on first use (patterns and their digit automata): %.1f ms", compiled))
        var generator = SplitMix64(seed: 11)
        func e164Upload() -> [String] {
            (0..<1_000).map { _ in
                DiscoveryBenchmarkPopulation.number(
                    Int(generator.next() % 90_000_000),
                    prefix: "13\(generator.next() % 10)"
                )
            }
        }
        func mixedUpload() -> [String] {
            (0..<1_000).map { _ in
                let n = generator.next()
                let eight = String(10_000_000 + Int(n % 90_000_000))
                let four = String(eight.prefix(4))
                let last = String(eight.suffix(4))
                switch n % 10 {
                case 0: return "139 \(four) \(last)"
                case 1: return "+86 139-\(four)-\(last)"
                case 2: return "0086 139 \(four) \(last)"
                case 3: return "+1 650 \(eight.prefix(3)) \(last)"
                case 4: return "+852 6\(eight.suffix(7))"
                case 5: return "+44 7700 9\(eight.suffix(5))"
                case 6: return "(010) \(four) \(last)"
                case 7: return "+81 90-\(four)-\(last)"
                case 8: return "tel:+86-139-\(four)-\(last)"
                default: return "＋８６ １３９ \(four) \(last)"
                }
            }
        }
        let indexer = vault.blindIndexer()
        var checksum: UInt64 = 0
        func measure(_ name: String, _ upload: () -> [String], _ work: ([String]) -> Void) -> Double {
            var samples: [Double] = []
            for _ in 0..<rounds {
                let numbers = upload()
                let begin = DispatchTime.now().uptimeNanoseconds
                work(numbers)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
            }
            print("\(name), 1,000 numbers: " + DiscoveryBench.percentiles(samples))
            return samples.sorted()[samples.count / 2]
        }
        let parsedOnce = e164Upload().compactMap { try? PhoneNumber.parse($0).get() }
        let hmac = measure(
            "blind index alone (HMAC-SHA256 of parsed numbers, the reference)",
            { [] },
            { _ in for phone in parsedOnce { checksum ^= indexer.index(phone).prefix } }
        )
        for (name, upload) in [("E.164 (China)", e164Upload), ("address-book mix of forms and regions", mixedUpload)] {
            _ = measure("\(name): parse alone", upload) { numbers in
                for text in numbers where (try? PhoneNumber.parseMobile(text).get()) != nil { checksum &+= 1 }
            }
            let both = measure("\(name): parse and blind index", upload) { numbers in
                for text in numbers {
                    if case .success(let phone) = PhoneNumber.parseMobile(text) {
                        checksum ^= indexer.index(phone).prefix
                    }
                }
            }
            print(String(format: "  %@: parse and blind index = %.1f× the blind index alone", name, both / hmac))
        }
        print("(checksum \(checksum % 10))")
    }
}
