import KithCore
import KithTestSupport
import Testing

@testable import KithStore

/// CON-05: contact discovery's in-memory index holds only people who chose to be found by their number.
@Suite("Discovery index (CON-05)")
struct DiscoveryIndexTests {
    static let initiation = Initiation(kind: .userRequest, action: "test", request: "r1")

    @Test(
        "only discoverable people are indexed; grants are caught up whatever their clock; withdrawn ones are not loaded",
        arguments: Backend.enabled
    )
    func onlyDiscoverablePeople(backend: Backend) async throws {
        let clock = ManualClock()
        try await withTestStore(backend, clock: .manual(clock)) { store in
            let phone = try PhoneNumber.parse("+8613912340001").get()
            let other = try PhoneNumber.parse("+8613912340002").get()
            let user = try await AccountsAndConsentTests.signUp(store, phone).user
            let otherUser = try await AccountsAndConsentTests.signUp(store, other).user
            let prefix = PhonePrefixIndex.prefix(hex: store.vault.blindIndex(phone))!
            let otherPrefix = PhonePrefixIndex.prefix(hex: store.vault.blindIndex(other))!
            let ledger = ConsentLedger(store: store)
            _ = try await ledger.grant(
                AccountsAndConsentTests.evidence(store, .contactDiscovery),
                by: otherUser,
                initiation: Self.initiation
            )

            let index = DiscoveryIndex()
            try await index.catchUp(on: store.database)
            #expect(index.isLoaded, "a load that finds nobody discoverable still counts as loaded")
            #expect(index.count == 0)
            #expect(!index.contains(prefix), "registered but not discoverable")
            #expect(!index.contains(otherPrefix), "another purpose's consent does not make anyone discoverable")

            @Sendable func becomeDiscoverable(seenBy index: DiscoveryIndex) async throws {
                _ = try await ledger.grant(
                    AccountsAndConsentTests.evidence(store, .discoverableByPhone),
                    by: user,
                    initiation: Self.initiation
                )
                try await index.catchUp(on: store.database)
            }
            try await becomeDiscoverable(seenBy: index)
            #expect(index.contains(prefix))
            #expect(!index.contains(otherPrefix))

            try await ledger.withdraw(.discoverableByPhone, by: user, initiation: Self.initiation)
            let fresh = DiscoveryIndex()
            try await fresh.catchUp(on: store.database)
            #expect(!fresh.contains(prefix), "a withdrawn grant adds no prefix")

            // Followed by log sequence, not by clock: a grant stamped an hour earlier (a node whose clock is
            // behind, or one stepped back) is still caught up.
            clock.advance(seconds: -3600)
            try await becomeDiscoverable(seenBy: fresh)
            #expect(fresh.contains(prefix), "granted again: caught up on the next catch-up")
            #expect(fresh.count == 1)
        }
    }

    /// SQLite's planner, without statistics, once scanned every grant and looked each person up on every
    /// catch-up (1.1 s per upload with 10M users): the plan must start from the two log ranges.
    @Test("CON-05 DSR-03 a catch-up after the first load starts from the log ranges, scanning no grant or person")
    func catchUpReadsOnlyTheRanges() async throws {
        try await withTestStore(.sqlite) { store in
            let plan = try await QueryPlanTests.plan(DiscoveryIndex.catchUpQuery(since: 42), on: store)
            #expect(plan.contains { $0.hasPrefix("SEARCH consents USING INDEX consents_log_seq") }, "\(plan)")
            #expect(plan.contains { $0.hasPrefix("SEARCH users USING INDEX users_phone_seq") }, "\(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
        }
    }

    @Test("a person loaded twice is one entry")
    func duplicates() {
        let index = PhonePrefixIndex(prefixes: [5, 3, 5, 9, 3, 3])
        #expect(index.count == 3)
        #expect(index.contains(3) && index.contains(5) && index.contains(9) && !index.contains(4))
    }
}
