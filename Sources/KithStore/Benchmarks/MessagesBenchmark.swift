import Foundation
import KithCore
import KithGraph

/// `kith bench messages` (issue 13): invitations previewed, authorised and dispatched through the real
/// services — the preview's sealed token, the send's caps and log entry with the message's evidence, the
/// dispatcher's binding check — with the gateway the only thing replaced (it counts).
public struct MessagesBenchmark: Sendable {
    public struct Figures: Sendable {
        /// Invitations previewed, sent and dispatched per second, end to end.
        public var perSecond: Double
        /// Seconds per `send` (authorise and log), sorted.
        public var sendSeconds: [Double]
        /// Seconds per preview, sorted.
        public var previewSeconds: [Double]
        public var dispatched: Int
    }

    /// A gateway at the edge of the world that only counts what reaches it.
    final class Counting: MessageGateway, @unchecked Sendable {
        private let lock = NSLock()
        private var delivered = 0
        var count: Int { lock.withLock { delivered } }
        func deliver(_ message: OutboundMessage, sentAt: Int64) async throws { lock.withLock { delivered += 1 } }
    }

    let store: KithStore
    public var invitations = 10_000
    public var inviters = 250
    public var concurrency = 64

    public init(store: KithStore) { self.store = store }

    static let initiation = Initiation(kind: .userRequest, action: "benchMessages", session: "sess:0000000000000000")

    public func run() async throws -> Figures {
        var policy = InvitationPolicy()
        policy.sms = true
        policy.perInviter = RateLimit(burst: 1e9, perSecond: 0)
        let service = Invitations(store: store, policy: policy)
        let gateway = Counting()
        let dispatcher = MessageDispatcher(gateway: gateway, store: store)
        let accounts = PhoneAccounts(store: store, codes: .seeding)
        let network = SocialNetwork(store: store, replica: GraphReplica())
        var people: [UserID] = []
        for i in 0..<inviters {
            let phone = try PhoneNumber.parse("+86137\(String(format: "%08d", i))").get()
            let pending = try await accounts.startVerification(
                phone: phone,
                requester: CodeRequester(address: "192.0.2.1", network: "192.0.2.0/24"),
                initiation: Self.initiation
            )
            let user = try await accounts.verify(id: pending.id, code: pending.code, initiation: Self.initiation).user
            _ = try await network.updateProfile(
                of: user,
                values: [.displayName: "Inviter \(i)"],
                audiences: [:],
                hidesConnections: nil,
                initiation: Self.initiation
            )
            people.append(user)
        }
        let inviters = people
        let total = invitations
        let width = concurrency
        let start = ContinuousClock.now
        let timings = try await withThrowingTaskGroup(of: [(Double, Double)].self) { group in
            for lane in 0..<width {
                group.addTask {
                    var timings: [(Double, Double)] = []
                    for i in stride(from: lane, to: total, by: width) {
                        let phone = try PhoneNumber.parse("+86139\(String(format: "%08d", i))").get()
                        let inviter = inviters[i % inviters.count]
                        let t0 = ContinuousClock.now
                        let preview = try await service.preview(
                            by: inviter,
                            to: phone,
                            channel: .sms,
                            initiation: Self.initiation
                        )
                        let t1 = ContinuousClock.now
                        let (_, message) = try await service.send(
                            token: preview.previewToken,
                            clientActionId: "bench-\(i)",
                            by: inviter,
                            initiation: Self.initiation
                        )
                        let t2 = ContinuousClock.now
                        if let message { try await dispatcher.send(message) }
                        timings.append(((t1 - t0).seconds, (t2 - t1).seconds))
                    }
                    return timings
                }
            }
            var all: [(Double, Double)] = []
            for try await lane in group { all += lane }
            return all
        }
        let elapsed = (ContinuousClock.now - start).seconds
        return Figures(
            perSecond: Double(total) / elapsed,
            sendSeconds: timings.map(\.1).sorted(),
            previewSeconds: timings.map(\.0).sorted(),
            dispatched: gateway.count
        )
    }
}
