import SQLKit
import Synchronization

/// Work that needs doing once per group commit rather than once per transaction in it: run just before
/// the batch's `COMMIT`, inside its transaction, so it commits with the batch or not at all (issue 13).
///
/// The processing log's tree head is the case: each transaction of a batch extends the tree, but only
/// the head the batch commits is ever read, so signing every intermediate head (an Ed25519 signature
/// each, ~5% of the writer thread in `kith bench messages`) was wasted work on the one thread every
/// write waits for.
///
/// A transaction finds its batch through ``current``, a task-local the writer sets while it runs the
/// batch; where there is none (PostgreSQL, whose transactions commit one by one), or once the batch has
/// finished (a task the transaction started outlived it), ``deferOnce(_:_:)`` says so and the caller does
/// the work at once.
final class CommitBatch: Sendable {
    typealias Work = @Sendable (any SQLDatabase) async throws -> Void

    @TaskLocal static var current: CommitBatch?

    private struct State: Sendable {
        var finished = false
        var keys: [String] = []
        var work: [String: Work] = [:]
    }

    private let state = Mutex(State())

    init() {}

    /// Has `work` run before the batch commits, once for `key` however many transactions ask (the latest
    /// `work` given wins). Returns `false` when the batch has already finished: do the work now.
    func deferOnce(_ key: String, _ work: @escaping Work) -> Bool {
        state.withLock { state in
            guard !state.finished else { return false }
            if state.work.updateValue(work, forKey: key) == nil { state.keys.append(key) }
            return true
        }
    }

    /// Runs the deferred work, in the order first asked for, on the batch's transaction; afterwards
    /// ``deferOnce(_:_:)`` refuses. A transaction rolled back to its savepoint may have asked too: the
    /// work reads what the batch is about to commit, not what that transaction wrote.
    func finish(on sql: any SQLDatabase) async throws {
        let (keys, work) = state.withLock { state in
            state.finished = true
            return (state.keys, state.work)
        }
        for key in keys { try await work[key]?(sql) }
    }

    /// Refuses further work: the batch failed before it finished, or has committed.
    func close() { state.withLock { $0.finished = true } }
}
