import Foundation
import KithCore
import KithGraph
import Logging
import SQLKit
import Synchronization

/// This node's in-memory copy of the connection graph and of the two per-person switches suggestions
/// need on the hot path (a hidden connection list; opted out of being suggested).
///
/// The store stays the source of truth. The replica is loaded from `connections` and `profiles` at
/// start, and then kept current from `graph_changes`: every write that changes a connection or one of
/// the switches adds a row there in its own transaction, and each node re-reads the rows of the last
/// few seconds and applies the *current* state of each pair or person from the store. Re-reading is
/// idempotent, so rows that commit out of order (PostgreSQL sequences and clocks do not promise
/// commit order) are still applied, and a second node sees a change within one poll interval.
public final class GraphReplica: Sendable {
    private struct Switches: Sendable {
        var hidesConnections: Set<NodeID> = []
        var unsuggestable: Set<NodeID> = []
    }

    public let graph: LiveSocialGraph
    private let directory = Mutex(NodeDirectory())
    private let switches = Mutex(Switches())
    /// When the previous catch-up started (store clock, milliseconds); rows from `overlap` before it are re-read.
    private let lastPoll = Mutex<Int64?>(nil)
    private let ranking = Mutex<(at: Int64, nodes: [NodeID])?>(nil)
    /// How far back each catch-up looks before the previous one: covers commit delay and clock skew between nodes.
    public static let overlapMillis: Int64 = 5_000

    public init() {
        graph = LiveSocialGraph()
    }

    /// The node of a person, assigned on first sight.
    public func node(for user: UserID) -> NodeID {
        directory.withLock { $0.nodeID(for: user.rawValue) }
    }

    /// The node of a person the replica has seen, if any.
    public func existingNode(for user: UserID) -> NodeID? {
        directory.withLock { $0.existingNodeID(for: user.rawValue) }
    }

    /// The person behind a node.
    public func user(of node: NodeID) -> UserID? {
        directory.withLock { $0.userID(of: node) }.map(UserID.init(rawValue:))
    }

    public func users(of nodes: [NodeID]) -> [UserID] {
        directory.withLock { directory in nodes.compactMap { directory.userID(of: $0) }.map(UserID.init(rawValue:)) }
    }

    /// The switches this node keeps of a person, as the access policy reads them.
    func settings(of node: NodeID) -> SubjectSettings {
        switches.withLock {
            SubjectSettings(
                hidesConnections: $0.hidesConnections.contains(node),
                suggestable: !$0.unsuggestable.contains(node)
            )
        }
    }

    /// The graph filter the access policy implies for a viewer: candidates only where the policy admits
    /// them as a suggestion (DSR-09), paths only through connections it admits as mutual (PYM-04), and
    /// never the people in `excluded` (blocks, dismissals, pending requests).
    func policyFilter(excluding excluded: Set<UserID>) -> SuggestionFilter {
        SuggestionFilter(
            excludedCandidates: Set(excluded.compactMap { existingNode(for: $0) }),
            excludesCandidate: { !AccessPolicy.maySuggest(self.settings(of: $0), to: .other) },
            hidesConnectionList: { !AccessPolicy.mayCountAsMutual(self.settings(of: $0), for: .connection) }
        )
    }

    /// The sorted connections of a person.
    public func connections(of user: UserID) -> [NodeID] {
        guard let node = existingNode(for: user) else { return [] }
        return graph.neighbors(of: node)
    }

    /// Applies a connection's current state.
    public func apply(_ a: UserID, _ b: UserID, connected: Bool) {
        let (x, y) = directory.withLock { ($0.nodeID(for: a.rawValue), $0.nodeID(for: b.rawValue)) }
        graph.reserveNodes(upTo: Int(max(x, y)) + 1)
        if connected { graph.addEdge(x, y) } else { graph.removeEdge(x, y) }
    }

    /// Applies a person's current switches.
    public func apply(_ user: UserID, hidesConnections: Bool, suggestable: Bool) {
        let node = self.node(for: user)
        switches.withLock { switches in
            if hidesConnections {
                switches.hidesConnections.insert(node)
            } else {
                switches.hidesConnections.remove(node)
            }
            if suggestable { switches.unsuggestable.remove(node) } else { switches.unsuggestable.insert(node) }
        }
    }

    /// Forgets an erased person (DSR-04): their edges, their switches and their entry in the directory.
    public func forget(_ user: UserID) {
        guard let node = existingNode(for: user) else { return }
        for peer in graph.neighbors(of: node) { graph.removeEdge(node, peer) }
        switches.withLock { switches in
            switches.hidesConnections.remove(node)
            switches.unsuggestable.remove(node)
        }
        directory.withLock { _ = $0.forget(user.rawValue) }
        ranking.withLock { $0 = nil }
    }

    /// The most connected people, recomputed at most every ten seconds (the non-personalised list, PYM-02).
    public func mostConnected(limit: Int, now: Int64) -> [NodeID] {
        if let cached = ranking.withLock({ cached in cached.flatMap { now - $0.at < 10_000 ? $0.nodes : nil } }) {
            return Array(cached.prefix(limit))
        }
        let snapshot = graph.snapshot()
        var top: [(degree: Int, node: NodeID)] = []
        let keep = max(limit, 200)
        for node in 0..<NodeID(snapshot.nodeCount) {
            let degree = snapshot.degree(of: node)
            guard degree > 0 else { continue }
            if top.count < keep || degree > top[top.count - 1].degree {
                let position = top.firstIndex { $0.degree < degree } ?? top.count
                top.insert((degree, node), at: position)
                if top.count > keep { top.removeLast() }
            }
        }
        let nodes = top.map(\.node)
        ranking.withLock { $0 = (now, nodes) }
        return Array(nodes.prefix(limit))
    }

    /// Loads the whole graph and the switches from the store (at start).
    public func load(from database: KithDatabase, now: Int64) async throws {
        lastPoll.withLock { $0 = now }
        let edges = try await database.scan { sql in
            try await sql.raw("SELECT user_id, peer_id FROM connections WHERE user_id < peer_id").all().map {
                (try $0.decode(column: "user_id", as: String.self), try $0.decode(column: "peer_id", as: String.self))
            }
        }
        let flagged = try await database.read { sql in
            try await sql.raw(
                "SELECT user_id, hide_connections, suggestable FROM profiles WHERE hide_connections = 1 OR suggestable = 0"
            ).all().map {
                (
                    UserID(rawValue: try $0.decode(column: "user_id", as: String.self)),
                    try $0.decode(column: "hide_connections", as: Int.self) == 1,
                    try $0.decode(column: "suggestable", as: Int.self) == 1
                )
            }
        }
        let pairs = directory.withLock { directory in
            edges.map { (directory.nodeID(for: $0.0), directory.nodeID(for: $0.1)) }
        }
        graph.reserveNodes(upTo: directory.withLock { $0.count })
        for (a, b) in pairs { graph.addEdge(a, b) }
        graph.compact()
        for (user, hides, suggestable) in flagged { apply(user, hidesConnections: hides, suggestable: suggestable) }
    }

    /// Applies the changes other nodes (and this one) recorded since shortly before the previous catch-up.
    ///
    /// - Returns: how many change rows were read.
    @discardableResult
    public func catchUp(on database: KithDatabase, now: Int64) async throws -> Int {
        // Nothing to catch up with before the first load (the schema may not even be migrated yet).
        guard
            let since = lastPoll.withLock({ previous -> Int64? in
                defer { if previous != nil { previous = now } }
                return previous.map { $0 - Self.overlapMillis }
            })
        else { return 0 }
        let (pairs, people) = try await database.read { sql in
            let changes = try await sql.raw("SELECT user_id, peer_id FROM graph_changes WHERE at >= \(bind: since)")
                .all()
            var pairs: Set<[String]> = []
            var people: Set<String> = []
            for row in changes {
                let user = try row.decode(column: "user_id", as: String.self)
                let peer = try row.decode(column: "peer_id", as: String.self)
                if peer.isEmpty { people.insert(user) } else { pairs.insert([min(user, peer), max(user, peer)]) }
            }
            return (pairs, people)
        }
        guard !pairs.isEmpty || !people.isEmpty else { return 0 }
        let (connected, switchRows) = try await database.read { sql in
            var connected: Set<[String]> = []
            let owners = Array(Set(pairs.map { $0[0] }))
            for chunk in stride(from: 0, to: owners.count, by: 500) {
                let part = Array(owners[chunk..<min(chunk + 500, owners.count)])
                for row in try await sql.select().column("user_id").column("peer_id").from("connections")
                    .where("user_id", .in, part).all()
                {
                    let pair = [
                        try row.decode(column: "user_id", as: String.self),
                        try row.decode(column: "peer_id", as: String.self),
                    ]
                    if pairs.contains(pair) { connected.insert(pair) }
                }
            }
            var switchRows: [String: (Bool, Bool)] = [:]
            let list = Array(people)
            for chunk in stride(from: 0, to: list.count, by: 500) {
                let part = Array(list[chunk..<min(chunk + 500, list.count)])
                for row in try await sql.select().column("user_id").column("hide_connections").column("suggestable")
                    .from("profiles").where("user_id", .in, part).all()
                {
                    switchRows[try row.decode(column: "user_id", as: String.self)] = (
                        try row.decode(column: "hide_connections", as: Int.self) == 1,
                        try row.decode(column: "suggestable", as: Int.self) == 1
                    )
                }
            }
            return (connected, switchRows)
        }
        for pair in pairs {
            apply(UserID(rawValue: pair[0]), UserID(rawValue: pair[1]), connected: connected.contains(pair))
        }
        for person in people {
            let (hides, suggestable) = switchRows[person] ?? (false, true)
            apply(UserID(rawValue: person), hidesConnections: hides, suggestable: suggestable)
        }
        return pairs.count + people.count
    }

    /// Records, in the writer's transaction, that a pair's connection changed (`peer` nil: a person's switches).
    static func recordChange(_ user: UserID, _ peer: UserID?, at: Int64, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            "INSERT INTO graph_changes (at, user_id, peer_id) VALUES (\(bind: at), \(bind: user.rawValue), \(bind: peer?.rawValue ?? ""))"
        ).run()
    }

    /// Forgets change rows no node needs any more.
    public static func prune(on database: KithDatabase, olderThan cutoff: Int64) async throws {
        try await database.transaction { sql in
            try await sql.raw("DELETE FROM graph_changes WHERE at < \(bind: cutoff)").run()
        }
    }
}
