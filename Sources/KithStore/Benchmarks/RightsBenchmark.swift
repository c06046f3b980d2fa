import Foundation
import KithCore
import KithGraph
import SQLKit

/// `kith bench rights` (issue 14): heavy users built through the store's own services — a profile,
/// consents, 1,000 connections (each a request and an acceptance, logged), endorsements both ways, a
/// dismissal — and 5,000 contact edges (half their uploads, half others' uploads of their number); then
/// each one's export (data, statement and proofs, zipped) and its deletion with the erasure scan, timed.
public struct RightsBenchmark: Sendable {
    public struct Figures: Sendable {
        /// Seconds per export, one per heavy user.
        public var exports: [Double]
        /// Seconds per erasure with its scan, one per heavy user.
        public var erasures: [Double]
        public var exportBytes: Int
        public var exportedRows: Int
        /// The heavy user's contact edges the export holds (their uploads) and tells as a fact (others').
        public var exportedEdges: Int
        public var logEntries: Int
        public var erasedRows: Int
        /// Hits the scans found that no rule keeps (0 when erasure works).
        public var unkeptHits: Int
    }

    let store: KithStore
    public var heavyUsers = 3
    public var connections = 1_000
    public var contactEdges = 5_000
    public var endorsements = 50

    public init(store: KithStore) { self.store = store }

    static let initiation = Initiation(kind: .operatorCommand, action: "benchRights")

    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Figures {
        let accounts = PhoneAccounts(store: store, codes: .seeding)
        let network = SocialNetwork(store: store, replica: GraphReplica(), requestLimit: .perDay(1e9, burst: 1e9))
        let consents = ConsentLedger(store: store)
        func signUp(_ i: Int) async throws -> (UserID, PhoneNumber) {
            let phone = try PhoneNumber.parse("+86137\(String(format: "%08d", i))").get()
            let pending = try await accounts.startVerification(
                phone: phone,
                requester: CodeRequester(address: "192.0.2.1", network: "192.0.2.0/24"),
                initiation: Self.initiation
            )
            let session = try await accounts.verify(id: pending.id, code: pending.code, initiation: Self.initiation)
            return (session.user, phone)
        }
        // Enough people for every edge to be a distinct pair: half the edges are the heavy user's uploads of
        // their numbers, half their uploads of the heavy user's number; the first `connections` also connect.
        var others: [UserID] = []
        for i in 0..<max(connections, (contactEdges + 1) / 2) {
            others.append(try await signUp(10_000 + i).0)
        }
        progress("\(others.count) people signed up")
        var heavy: [(UserID, PhoneNumber)] = []
        for h in 0..<heavyUsers {
            let (user, phone) = try await signUp(h)
            heavy.append((user, phone))
            _ = try await network.updateProfile(
                of: user,
                values: [
                    .displayName: "Heavy \(h)", .employer: "Kith Labs", .school: "Zhejiang University", .city: "杭州",
                ],
                audiences: [:],
                hidesConnections: nil,
                initiation: Self.initiation
            )
            for purpose in [PurposeID.discoverableByPhone, .contactDiscovery, .personalisedSuggestions] {
                _ = try await consents.grant(
                    store.catalogue.evidenceAsShown(purpose)!,
                    by: user,
                    initiation: Self.initiation
                )
            }
            for (position, other) in others.prefix(connections).enumerated() {
                let (request, _) = try await network.requestConnection(
                    from: other,
                    to: user,
                    initiation: Self.initiation
                )
                _ = try await network.respond(
                    to: request.requestId,
                    by: user,
                    with: .accept,
                    initiation: Self.initiation
                )
                if position < endorsements {
                    _ = try await network.endorse(other, by: user, tag: .preset(.reliable), initiation: Self.initiation)
                    _ = try await network.endorse(user, by: other, tag: .preset(.mentor), initiation: Self.initiation)
                }
            }
            // The address-book side, as matched uploads leave it: half the heavy user's, half others'.
            let now = store.clock.nowMillis
            let people = others
            let edges = contactEdges
            try await store.database.transaction { sql in
                for edge in 0..<edges {
                    let other = people[edge / 2].rawValue
                    let (owner, contact) = edge % 2 == 0 ? (user.rawValue, other) : (other, user.rawValue)
                    try await sql.raw(
                        """
                        INSERT INTO contact_edges (owner_id, contact_id, created_at) VALUES (\(bind: owner), \(bind: contact), \(bind: now + Int64(edge)))
                        """
                    ).run()
                }
            }
            progress("heavy user \(h + 1) of \(heavyUsers) built")
        }
        var figures = Figures(
            exports: [],
            erasures: [],
            exportBytes: 0,
            exportedRows: 0,
            exportedEdges: 0,
            logEntries: 0,
            erasedRows: 0,
            unkeptHits: 0
        )
        let exporter = DataExport(store: store)
        let scan = ErasureScan(store: store)
        for (user, phone) in heavy {
            var start = ContinuousClock.now
            let document = try await exporter.export(user, initiation: Self.initiation)
            let archive = try await ExportArchive.zip(document)
            figures.exports.append((ContinuousClock.now - start).seconds)
            figures.exportBytes = archive.count
            figures.exportedRows = document.tables.values.reduce(0) { $0 + $1.count }
            figures.logEntries = document.log.entries.count
            figures.exportedEdges =
                (document.tables["contact_edges"]?.count ?? 0)
                + document.facts.filter { $0.table == "contact_edges" }.reduce(0) { $0 + $1.count }
            let pseudonym = try await store.database.read { sql in
                try await SubjectKeys(store: store).pseudonym(of: user, on: sql)
            }
            let forms = scan.forms(of: user, phone: phone, pseudonym: pseudonym)
            start = ContinuousClock.now
            let erased = try await store.database.transaction { sql in
                try await AccountErasure.erase(
                    user,
                    deletion: nil,
                    initiation: Self.initiation,
                    inventory: .kith,
                    store: store,
                    on: sql
                )
            }
            let hits = try await scan.scan(for: forms)
            figures.erasures.append((ContinuousClock.now - start).seconds)
            figures.unkeptHits += hits.filter { !$0.kept }.reduce(0) { $0 + $1.rows }
            figures.erasedRows = erased?.rows.values.reduce(0, +) ?? 0
        }
        return figures
    }
}
