import KithCore
import Synchronization

/// Group commit for the entries of read-side derivations (suggestions, the second degree, explanations):
/// each request's entry is durable before its answer is given, but concurrent requests share one
/// transaction and one fsync instead of paying one each (issue 10 §2, SEC-01).
///
/// The first request to arrive leads: it writes its own entry with every entry queued meanwhile, wakes
/// their requests with their entries, and hands leadership to the next request that queued while it
/// wrote. Nothing runs in the background, and nothing is acknowledged before it is committed.
final class GroupCommitLog: Sendable {
    private enum Role: Sendable {
        case lead
        case logged(Result<ProcessingEntry, any Error>)
    }

    private struct Waiter: Sendable {
        var act: ProcessingAct
        var continuation: CheckedContinuation<Role, Never>
    }

    private struct State: Sendable {
        var queue: [Waiter] = []
        var writing = false
    }

    private let state = Mutex(State())

    init() {}

    /// Checks the act's basis and logs it, batched with whatever else is waiting; returns once committed.
    ///
    /// - Throws: `consent-required` when the act's basis is missing (only this act fails); a store error
    ///   when the batch could not be written (every act in it fails, and none was logged).
    func record(_ act: ProcessingAct, store: KithStore) async throws -> ProcessingEntry {
        let role = await withCheckedContinuation { (continuation: CheckedContinuation<Role, Never>) in
            let lead = state.withLock { state in
                if state.writing {
                    state.queue.append(Waiter(act: act, continuation: continuation))
                    return false
                }
                state.writing = true
                return true
            }
            if lead { continuation.resume(returning: .lead) }
        }
        switch role {
        case .logged(let result):
            return try result.get()
        case .lead:
            let others = state.withLock { state in
                let taken = state.queue
                state.queue.removeAll()
                return taken
            }
            let results = await Self.write([act] + others.map(\.act), store: store)
            for (waiter, result) in zip(others, results.dropFirst()) {
                waiter.continuation.resume(returning: .logged(result))
            }
            let next = state.withLock { state -> Waiter? in
                guard !state.queue.isEmpty else {
                    state.writing = false
                    return nil
                }
                return state.queue.removeFirst()
            }
            next?.continuation.resume(returning: .lead)
            return try results[0].get()
        }
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
