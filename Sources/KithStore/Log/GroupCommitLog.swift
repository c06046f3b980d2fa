import KithCore

/// Group commit for the entries of read-side derivations (suggestions, the second degree, explanations):
/// each request's entry is durable before its answer is given, but concurrent requests share one
/// transaction and one fsync instead of paying one each (issue 10 §2, SEC-01).
///
/// Unlike a batch of transactions (``SQLiteWriter``), the entries of a batch are appended together: one
/// pseudonym lookup and one signed head for all of them.
final class GroupCommitLog: Sendable {
    private let batches = GroupCommit<ProcessingAct, ProcessingEntry>()

    init() {}

    /// Checks the act's basis and logs it, batched with whatever else is waiting; returns once committed.
    ///
    /// - Throws: `consent-required` when the act's basis is missing (only this act fails); a store error
    ///   when the batch could not be written (every act in it fails, and none was logged).
    func record(_ act: ProcessingAct, store: KithStore) async throws -> ProcessingEntry {
        try await batches.submit(act) { acts in await Self.write(acts, store: store) }
    }

    /// Writes a batch in one transaction: acts without a basis are refused one by one, the rest logged.
    private static func write(_ acts: [ProcessingAct], store: KithStore) async -> [Result<ProcessingEntry, any Error>] {
        do {
            return try await store.database.transaction { sql in
                var results: [Result<ProcessingEntry, any Error>?] = Array(repeating: nil, count: acts.count)
                var admitted: [(Int, LoggedAct)] = []
                for (position, act) in acts.enumerated() {
                    do {
                        admitted.append(
                            (
                                position,
                                LoggedAct(
                                    act,
                                    basisRef: try await ProcessingGate.basis(for: act, store: store, on: sql)
                                )
                            )
                        )
                    } catch {
                        results[position] = .failure(error)
                    }
                }
                let entries = try await ProcessingGate.append(admitted.map(\.1), store: store, on: sql)
                for ((position, _), entry) in zip(admitted, entries) { results[position] = .success(entry) }
                return results.map { $0! }
            }
        } catch {
            return acts.map { _ in .failure(error) }
        }
    }
}
