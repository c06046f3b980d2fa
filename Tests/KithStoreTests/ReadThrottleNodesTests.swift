import KithCore
import KithTestSupport
import Testing

@testable import KithStore

/// GEN-05 across nodes: two stores on one database, each with its own in-memory throttle.
@Suite("Read throttle across nodes (GEN-05)")
struct ReadThrottleNodesTests {
    static let initiation = Initiation(kind: .userRequest, action: "test")

    @Test(
        "GEN-05 the read bucket and the people read are shared by every node at each synchronisation",
        arguments: Backend.enabled
    )
    func sharedAcrossNodes(backend: Backend) async throws {
        try await withTestStore(backend) { a in
            let b = SessionCacheTests.otherNode(of: a)
            var policy = ReadThrottlePolicy()
            policy.perUser = RateLimit(burst: 4, perSecond: 0)
            policy.distinctPeoplePerHour = 3
            let onA = ReadThrottle(store: a, policy: policy)
            let onB = ReadThrottle(store: b, policy: policy)
            let reader = UserID.generate()
            let read = (0..<4).map { _ in UserID.generate() }

            try await onA.take(reader, reading: read[0], initiation: Self.initiation)
            try await onA.take(reader, reading: read[1], initiation: Self.initiation)
            try await onA.synchronise()
            // Node B first sees the reader after A wrote: it starts from the store's bucket (2 of 4 left).
            try await onB.take(reader, reading: read[2], initiation: Self.initiation)
            try await onB.take(reader, reading: read[2], initiation: Self.initiation)
            let spent = await #expect(throws: LimitRefusal.self) {
                try await onB.take(reader, reading: read[2], initiation: Self.initiation)
            }
            #expect(spent?.limit == "reads")
            try await onB.synchronise()
            try await onA.synchronise()
            let onAToo = await #expect(throws: LimitRefusal.self) {
                try await onA.take(reader, reading: read[0], initiation: Self.initiation)
            }
            #expect(onAToo?.limit == "reads", "node A still lends tokens node B spent")

            // The count of people read: A saw two, B one; one more on B trips the detector everywhere.
            let other = UserID.generate()
            policy.perUser = RateLimit(burst: 100, perSecond: 0)
            let bulkA = ReadThrottle(store: a, policy: policy)
            let bulkB = ReadThrottle(store: b, policy: policy)
            for person in read[0..<2] { try await bulkA.take(other, reading: person, initiation: Self.initiation) }
            try await bulkA.synchronise()
            try await bulkB.take(other, reading: read[2], initiation: Self.initiation)
            let tripped = await #expect(throws: LimitRefusal.self) {
                try await bulkB.take(other, reading: read[3], initiation: Self.initiation)
            }
            #expect(tripped?.limit == "bulk-reading" && tripped?.trippedGuard == true)
            try await bulkB.synchronise()
            try await bulkA.synchronise()
            let stopped = await #expect(throws: LimitRefusal.self) {
                try await bulkA.take(other, reading: nil, initiation: Self.initiation)
            }
            #expect(stopped?.limit == "bulk-reading" && stopped?.trippedGuard == false)
            #expect(try await bulkA.blockedReaders() == 1)
        }
    }
}
