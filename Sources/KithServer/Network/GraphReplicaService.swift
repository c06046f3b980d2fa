import KithCore
import KithStore
import Logging
import ServiceLifecycle

/// Keeps this node's graph replica current from the change table, and prunes rows no node needs.
///
/// A poll every half second keeps a second node within the 2-second promise of issue 4 §8; changes made
/// on this node are applied to its replica at once by the writer.
struct GraphReplicaService: Service, CustomStringConvertible {
    /// ServiceLifecycle logs this name; the default would print the whole store.
    var description: String { "GraphReplicaService" }

    let network: SocialNetwork
    let logger: Logger
    var interval: Duration = .milliseconds(500)

    func run() async throws {
        let database = network.store.database
        let clock = network.store.clock
        try await cancelWhenGracefulShutdown {
            var lastPrune = clock.nowMillis
            while !Task.isCancelled {
                do {
                    try await network.replica.catchUp(on: database, now: clock.nowMillis)
                    if clock.nowMillis - lastPrune > 60_000 {
                        lastPrune = clock.nowMillis
                        try await GraphReplica.prune(on: database, olderThan: lastPrune - 3_600_000)
                    }
                } catch {
                    logger.warning("graph replica catch-up failed", metadata: ["error.type": "\(type(of: error))"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
