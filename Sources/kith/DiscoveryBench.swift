import ArgumentParser
import Foundation
import KithCore
import KithServer
import KithStore
import Logging
import SQLKit

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `kith bench discovery`: matching a 1,000-number upload against N registered users.
struct DiscoveryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "discovery")

    @Option(help: "Registered users seeded (1,000,000 by default; 10,000,000 optional).")
    var users = 1_000_000

    @Option(help: "Uploads timed.")
    var rounds = 300

    @Option(help: "Port for the loopback whole-request measurement.")
    var port = 18_123

    static func number(_ i: Int, prefix: String = "139") -> String { "+86" + prefix + String(format: "%08d", i) }

    func run() async throws {
        let logger = makeLogger(.warning)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kith-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = "sqlite://" + directory.appendingPathComponent("bench.sqlite").path
        let keys = KithKeys.generate()
        let users = self.users
        let uploader = UserID(rawValue: "bench-uploader")
        let token = "bench-token-" + UUID().uuidString

        try await withDatabase(url: url, logger: logger) { database in
            try await database.migrate(logger: logger)
            let store = KithStore(database: database, keys: keys)
            let vault = store.vault
            var start = Date()
            let notice = PurposeCatalogue.standard.current.version
            for batch in stride(from: 0, to: users, by: 20_000) {
                let range = batch..<min(batch + 20_000, users)
                let rows = try range.map { i -> (String, String, String) in
                    let phone = try PhoneNumber.parse(Self.number(i)).get()
                    return ("u\(i)", vault.blindIndex(phone), try vault.encrypt(phone))
                }
                try await database.transaction { sql in
                    for chunk in stride(from: 0, to: rows.count, by: 400) {
                        var insert = sql.insert(into: "users").columns(
                            "id",
                            "phone_index",
                            "phone_cipher",
                            "created_at",
                            "registration_evidence"
                        )
                        var consents = sql.insert(into: "consents").columns(
                            "id",
                            "user_id",
                            "purpose",
                            "notice_version",
                            "locale",
                            "text_sha256",
                            "initial_state",
                            "channel",
                            "granted_at",
                            "evidence"
                        )
                        var anyConsent = false
                        for (id, index, cipher) in rows[chunk..<min(chunk + 400, rows.count)] {
                            insert = insert.values(
                                SQLBind(id),
                                SQLBind(index),
                                SQLBind(cipher),
                                SQLBind(Int64(1_700_000_000_000) + Int64(Int(id.dropFirst())!)),
                                SQLBind("bench")
                            )
                            if id.hasSuffix("0") {  // every tenth user is discoverable
                                anyConsent = true
                                consents = consents.values(
                                    SQLBind("c" + id),
                                    SQLBind(id),
                                    SQLBind(PurposeID.discoverableByPhone.rawValue),
                                    SQLBind(notice),
                                    SQLBind("en"),
                                    SQLBind("bench"),
                                    SQLBind("unchecked"),
                                    SQLBind("api"),
                                    SQLBind(Int64(1)),
                                    SQLBind("bench")
                                )
                            }
                        }
                        try await insert.run()
                        if anyConsent { try await consents.run() }
                    }
                }
            }
            print("seeded \(users) users in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            let uploaderPhone = try PhoneNumber.parse(Self.number(1, prefix: "136")).get()
            try await database.transaction { sql in
                try await sql.raw(
                    "INSERT INTO users (id, phone_index, phone_cipher, created_at, registration_evidence) VALUES (\(bind: uploader.rawValue), \(bind: vault.blindIndex(uploaderPhone)), \(bind: try vault.encrypt(uploaderPhone)), 1700000000000, 'bench')"
                ).run()
                try await SubjectKeys(store: store).create(for: uploader, on: sql)
                try await sql.raw(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (\(bind: token.sha256Hex), \(bind: uploader.rawValue), 0, \(bind: Int64.max / 2))"
                ).run()
            }
            let purpose = store.catalogue.purpose(.contactDiscovery)!
            _ = try await ConsentLedger(store: store).grant(
                ConsentEvidence(
                    purpose: .contactDiscovery,
                    noticeVersion: notice,
                    locale: .en,
                    textSHA256: purpose.consentText(.en).sha256Hex,
                    initialState: .unchecked,
                    channel: .api
                ),
                by: uploader,
                initiation: Initiation(kind: .operatorCommand, action: "bench")
            )

            let index = DiscoveryIndex()
            start = Date()
            try await index.catchUp(on: database)
            print(
                "match index: \(index.count) users loaded in \(String(format: "%.2f", Date().timeIntervalSince(start))) s, "
                    + "\(String(format: "%.1f", Double(index.bytesUsed) / Double(max(1, index.count)))) bytes per registered user"
            )

            // 1,000 numbers: 100 registered (10 of them discoverable on average), 900 that belong to no one.
            var generator = SplitMix(seed: 7)
            func upload() -> [String] {
                (0..<100).map { _ in Self.number(Int(generator.next() % UInt64(users))) }
                    + (0..<900).map { _ in Self.number(Int(generator.next() % 90_000_000), prefix: "137") }
            }
            let discovery = ContactDiscovery(store: store, index: index)
            var matched = 0
            var samples: [Double] = []
            for _ in 0..<rounds {
                let numbers = upload()
                let begin = DispatchTime.now().uptimeNanoseconds
                matched += try await discovery.resolve(uploader: uploader, numbers: numbers, region: .cn).count
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
            }
            print(
                "server-side match, 1,000 numbers (\(rounds) uploads, \(matched / max(1, rounds)) matches each on average): "
                    + Self.percentiles(samples)
            )
        }

        // Whole request over loopback, through the HTTP server, re-checking one 1,000-number set.
        var configuration = KithConfiguration()
        configuration.databaseURL = url
        configuration.port = port
        configuration.smsOutbox = directory.appendingPathComponent("outbox.jsonl").path
        let (app, _) = try await buildApplication(
            configuration: configuration,
            logger: logger,
            overrides: KithOverrides(keys: keys)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            let base = URL(string: "http://127.0.0.1:\(port)/v1/me/contacts/matches")!
            var ready = false
            for _ in 0..<100 where !ready {
                try await Task.sleep(for: .milliseconds(100))
                ready = (try? await Self.post(base, token: token, body: ["numbers": []]))?.0 == 200
            }
            var generator = SplitMix(seed: 11)
            let numbers =
                (0..<100).map { _ in Self.number(Int(generator.next() % UInt64(users))) }
                + (0..<900).map { _ in Self.number(Int(generator.next() % 90_000_000), prefix: "137") }
            let (status, first) = try await Self.post(base, token: token, body: ["numbers": numbers])
            guard status == 200, let recheck = first["recheckToken"] as? String else {
                print("whole request: first upload failed with \(status)")
                group.cancelAll()
                return
            }
            var samples: [Double] = []
            for _ in 0..<min(rounds, 55) {
                let begin = DispatchTime.now().uptimeNanoseconds
                let (status, _) = try await Self.post(
                    base,
                    token: token,
                    body: ["previousNumbers": numbers, "numbers": [], "recheckToken": recheck]
                )
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
                if status != 200 { print("request failed: \(status)") }
            }
            print(
                "whole request over loopback, 1,000 numbers (\(min(rounds, 55)) requests, committed with synchronous=FULL): "
                    + Self.percentiles(samples)
            )
            group.cancelAll()
        }
    }

    static func post(_ url: URL, token: String, body: [String: Any]) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, json)
    }

    static func percentiles(_ samples: [Double]) -> String {
        let sorted = samples.sorted()
        func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        return String(format: "p50 %.3f ms, p99 %.3f ms, max %.3f ms", at(0.5), at(0.99), sorted.last ?? 0)
    }
}

/// A small seeded generator for benchmark inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
