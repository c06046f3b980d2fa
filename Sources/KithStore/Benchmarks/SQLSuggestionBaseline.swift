import Foundation
import KithGraph
import SQLKit

/// The suggestions query a server without the graph engine would run: Resource Allocation over the
/// `connections` table, excluding the viewer and their connections. The baseline `kith bench
/// suggestions` measures the engine against; it loads a synthetic graph, never people's data.
public enum SQLSuggestionBaseline {
    /// Zero-padded so that text order is numeric order and rows arrive in primary-key order.
    public static func id(_ node: NodeID) -> String {
        let digits = String(node)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    public static func load(_ graph: CSRGraph, into database: KithDatabase) async throws {
        let batch = 50_000
        var users: [String] = []
        var peers: [String] = []
        func flush() async throws {
            let (u, p) = (users, peers)
            users.removeAll(keepingCapacity: true)
            peers.removeAll(keepingCapacity: true)
            let backend = database.backend
            try await database.transaction { sql in
                if backend == .postgres {
                    try await sql.raw(
                        "INSERT INTO connections (user_id, peer_id, created_at) SELECT a, b, 0 FROM unnest(\(bind: u)::text[], \(bind: p)::text[]) AS t(a, b)"
                    ).run()
                } else {
                    let pairs = String(decoding: try JSONEncoder().encode(zip(u, p).map { [$0, $1] }), as: UTF8.self)
                    try await sql.raw(
                        "INSERT INTO connections (user_id, peer_id, created_at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), 0 FROM json_each(\(bind: pairs))"
                    ).run()
                }
            }
        }
        for node in 0..<graph.nodeCount {
            let user = NodeID(truncatingIfNeeded: node)
            let name = id(user)
            for peer in graph.neighbors(of: user) {
                users.append(name)
                peers.append(id(peer))
                if users.count == batch { try await flush() }
            }
        }
        if !users.isEmpty { try await flush() }
        try await database.transaction { sql in try await sql.raw("ANALYZE").run() }
    }

    public static func topTen(for user: NodeID, on database: KithDatabase) async throws -> [NodeID] {
        let me = id(user)
        return try await database.read { sql in
            try await sql.raw(
                """
                SELECT c2.peer_id AS candidate, SUM(1.0 / d.degree) AS score, COUNT(*) AS mutuals
                FROM connections c1
                JOIN (SELECT user_id, COUNT(*) AS degree FROM connections
                      WHERE user_id IN (SELECT peer_id FROM connections WHERE user_id = \(bind: me))
                      GROUP BY user_id) d ON d.user_id = c1.peer_id
                JOIN connections c2 ON c2.user_id = c1.peer_id
                WHERE c1.user_id = \(bind: me) AND c2.peer_id <> \(bind: me)
                  AND c2.peer_id NOT IN (SELECT peer_id FROM connections WHERE user_id = \(bind: me))
                GROUP BY c2.peer_id
                ORDER BY score DESC, mutuals DESC, candidate
                LIMIT 10
                """
            ).all().compactMap { NodeID(try $0.decode(column: "candidate", as: String.self)) }
        }
    }
}
