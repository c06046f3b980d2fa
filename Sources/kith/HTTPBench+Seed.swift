import Foundation
import KithCore
import KithGraph
import KithServer
import KithStore
import Synchronization

/// The SMS provider as `kith bench http` plugs it into the application: it keeps the last sign-in code
/// delivered to each number, so the bench signs people in exactly as they would sign in themselves (code
/// requested, authorised by its logged act, delivered, redeemed) and gets real session tokens, with no
/// session written behind the store's back.
final class BenchCodeInbox: MessageGateway {
    private let codes = Mutex<[String: String]>([:])
    let codeLength: Int

    init(codeLength: Int) { self.codeLength = codeLength }

    func deliver(_ message: OutboundMessage, sentAt: Int64) async throws {
        guard message.kind == .verification else { return }
        let length = codeLength
        let code = message.body.split { !($0.isASCII && $0.isNumber) }.first { $0.count == length }
        codes.withLock { $0[message.to.e164] = code.map { String($0) } }
    }

    /// The last code delivered to `phone`, taken out of the inbox.
    func takeCode(for phone: PhoneNumber) -> String? {
        codes.withLock { $0.removeValue(forKey: phone.e164) }
    }
}

/// A signed-in account of the benchmark population.
struct BenchMember: Sendable {
    var user: UserID
    var token: String
}

/// The people `kith bench http` measures with, seeded through the running application's own services:
/// a viewer with `friends` accepted connections, a filled profile and the personalisation consent; its
/// friends, each connected to a few of a `pool` of people the viewer does not know (and to one other
/// friend), so that the second degree and the suggestions have hundreds of people to rank; and pool
/// members connected among themselves. Synthetic data: run it only on a store made for the benchmark.
struct HTTPBenchPopulation: Sendable {
    /// Whose requests are measured: 100 connections, profile filled, personalisation consented.
    var viewer: BenchMember
    /// A connection of the viewer whose profile the viewer reads; it never consented to personalisation,
    /// so its suggestion list is the plain one (PYM-02).
    var other: BenchMember
    var people: Int
    var connections: Int
    /// People exactly two steps from the viewer in the seeded graph.
    var secondDegree: Int

    static let friends = 100
    static let pool = 400
    static let poolLinksPerFriend = 6
    static let poolLinksPerPoolMember = 2
    /// Sign-ins and writes in flight at once while seeding.
    static let width = 8

    static let employers = [
        "Kith Labs", "Northwind", "Contoso", "Initech", "Globex", "Hooli", "Umbrella", "Stark Industries",
        "Wayne Enterprises", "Acme", "Tyrell", "Cyberdyne", "Soylent", "Vandelay", "Wonka", "Monarch",
    ]
    static let schools = [
        "Tsinghua University", "Peking University", "Fudan University", "Zhejiang University",
        "Shanghai Jiao Tong University", "Nanjing University", "Wuhan University", "Sun Yat-sen University",
    ]
    static let cities = ["北京", "上海", "深圳", "杭州", "广州", "成都", "南京", "武汉"]

    /// Seeds the population through `services` while the application runs (its graph replica learns
    /// every connection as it is made).
    static func seed(services: KithServices, inbox: BenchCodeInbox) async throws -> HTTPBenchPopulation {
        let count = 1 + friends + pool
        let members = try await inParallel(0..<count) { i in try await signIn(i, services: services, inbox: inbox) }
        try await inParallel(0..<count) { i in
            _ = try await services.network.updateProfile(
                of: members[i].user,
                values: profile(i),
                audiences: i % 3 == 0 ? [.employer: .everyone, .school: .everyone] : [:],
                hidesConnections: nil,
                initiation: Initiation(kind: .userRequest, action: "updateProfile")
            )
        }
        let pairs = edges()
        try await inParallel(0..<pairs.count) { e in
            let (from, to) = (members[pairs[e].0].user, members[pairs[e].1].user)
            let (request, _) = try await services.network.requestConnection(
                from: from,
                to: to,
                initiation: Initiation(kind: .userRequest, action: "requestConnection")
            )
            _ = try await services.network.respond(
                to: request.requestId,
                by: to,
                with: .accept,
                initiation: Initiation(kind: .userRequest, action: "respondToConnection")
            )
        }
        let catalogue = services.store.catalogue
        let text = catalogue.purpose(.personalisedSuggestions)!.consentText(.zhCN)
        _ = try await services.consents.grant(
            ConsentEvidence(
                purpose: .personalisedSuggestions,
                noticeVersion: catalogue.current.version,
                locale: .zhCN,
                textSHA256: text.sha256Hex,
                initialState: .unchecked,
                channel: .ios
            ),
            by: members[0].user,
            initiation: Initiation(kind: .userRequest, action: "grantConsent")
        )
        return HTTPBenchPopulation(
            viewer: members[0],
            other: members[1],
            people: count,
            connections: pairs.count,
            secondDegree: secondDegree(of: 0, in: pairs)
        )
    }

    /// Person `i`'s phone number: `+86 138…`, a range no other benchmark uses.
    static func phone(_ i: Int) throws -> PhoneNumber {
        try PhoneNumber.parse(DiscoveryBenchmarkPopulation.number(i, prefix: "138")).get()
    }

    /// Signs person `i` in as the app's `startPhoneVerification` and `verifyPhone` do: the code goes out
    /// through the gateway and comes back as the person would type it.
    static func signIn(_ i: Int, services: KithServices, inbox: BenchCodeInbox) async throws -> BenchMember {
        let phone = try phone(i)
        let pending = try await services.accounts.startVerification(
            phone: phone,
            requester: CodeRequester(address: "127.0.0.1", network: "127.0.0.0/24"),
            initiation: Initiation(kind: .userRequest, action: "startPhoneVerification")
        )
        if let message = pending.message { try await services.messages.send(message) }
        guard let code = inbox.takeCode(for: phone) else { throw HTTPBenchError("no sign-in code was delivered") }
        let session = try await services.accounts.verify(
            id: pending.id,
            code: code,
            initiation: Initiation(kind: .userRequest, action: "verifyPhone")
        )
        return BenchMember(user: session.user, token: session.token)
    }

    /// Every field the profile has. One person in 16 shares the viewer's employer and one in 8 its school,
    /// and every third person shows both to everyone, so the same-employer and same-school signal has
    /// candidates too.
    static func profile(_ i: Int) -> [ProfileField: String] {
        let role = i == 0 ? "viewer" : i <= friends ? "friend \(i)" : "pool \(i - friends)"
        return [
            .displayName: i == 0 ? "Bench Viewer" : "Bench Person \(i)",
            .headline: "Synthetic benchmark account (\(role)), 资深工程师",
            .employer: employers[i % employers.count],
            .school: schools[i % schools.count],
            .city: cities[i % cities.count],
            .avatarURL: "https://example.com/avatars/\(i).png",
        ]
    }

    /// The connections, each once, as (requester, recipient): every friend asks the viewer; each friend
    /// asks a few pool members and one other friend; each pool member asks a couple of others. Nobody
    /// sends more than the daily request limit allows.
    static func edges() -> [(Int, Int)] {
        var generator = SplitMix64(seed: 12)
        func random(_ range: Range<Int>) -> Int { range.lowerBound + Int(generator.next() % UInt64(range.count)) }
        let friendIDs = 1..<(1 + friends)
        let poolIDs = (1 + friends)..<(1 + friends + pool)
        var seen: Set<[Int]> = []
        var pairs: [(Int, Int)] = []
        func add(_ a: Int, _ b: Int) {
            guard a != b, seen.insert([min(a, b), max(a, b)]).inserted else { return }
            pairs.append((a, b))
        }
        for friend in friendIDs {
            add(friend, 0)
        }
        for friend in friendIDs {
            for _ in 0..<poolLinksPerFriend { add(friend, random(poolIDs)) }
            add(friend, random(friendIDs))
        }
        for member in poolIDs {
            for _ in 0..<poolLinksPerPoolMember { add(member, random(poolIDs)) }
        }
        return pairs
    }

    /// How many people are exactly two steps from `person` in `pairs`.
    static func secondDegree(of person: Int, in pairs: [(Int, Int)]) -> Int {
        var neighbours: [Int: Set<Int>] = [:]
        for (a, b) in pairs {
            neighbours[a, default: []].insert(b)
            neighbours[b, default: []].insert(a)
        }
        let first = neighbours[person] ?? []
        let reached = first.reduce(into: Set<Int>()) { $0.formUnion(neighbours[$1] ?? []) }
        return reached.subtracting(first).subtracting([person]).count
    }

    /// Runs `body` for every index of `range`, `width` at a time, and returns the results in order.
    @discardableResult
    static func inParallel<T: Sendable>(
        _ range: Range<Int>,
        _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results: [T?] = Array(repeating: nil, count: range.count)
            var next = range.lowerBound
            for _ in 0..<min(width, range.count) {
                let i = next
                group.addTask { (i, try await body(i)) }
                next += 1
            }
            while let (i, result) = try await group.next() {
                results[i - range.lowerBound] = result
                if next < range.upperBound {
                    let i = next
                    group.addTask { (i, try await body(i)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}
