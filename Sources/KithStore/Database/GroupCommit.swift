import Synchronization

/// Leader-follower batching for durable writes: each caller's job is committed before it is answered,
/// but callers that arrive while a batch is being written share the next batch — one transaction and one
/// fsync — instead of paying one each (issue 10 §2, issue 13).
///
/// The first caller to arrive leads: it writes its own job with every job queued meanwhile, answers
/// their callers, and hands leadership to the next caller that queued while it wrote. Nothing runs in the
/// background, and nothing is acknowledged before it is committed.
final class GroupCommit<Job: Sendable, Output: Sendable>: Sendable {
    /// Writes a batch, in order, and answers each job: a job's own failure fails only that job.
    typealias Write = @Sendable ([Job]) async -> [Result<Output, any Error>]

    private enum Role: Sendable {
        case lead
        case done(Result<Output, any Error>)
    }

    private struct Waiter: Sendable {
        var job: Job
        var continuation: CheckedContinuation<Role, Never>
    }

    private struct State: Sendable {
        var queue: [Waiter] = []
        var writing = false
    }

    private let state = Mutex(State())

    init() {}

    /// Commits `job` with whatever else is waiting, through `write` (every caller passes the same one);
    /// returns once the batch holding it is committed.
    func submit(_ job: Job, write: Write) async throws -> Output {
        let role = await withCheckedContinuation { (continuation: CheckedContinuation<Role, Never>) in
            let lead = state.withLock { state in
                if state.writing {
                    state.queue.append(Waiter(job: job, continuation: continuation))
                    return false
                }
                state.writing = true
                return true
            }
            if lead { continuation.resume(returning: .lead) }
        }
        switch role {
        case .done(let result):
            return try result.get()
        case .lead:
            let others = state.withLock { state in
                let taken = state.queue
                state.queue.removeAll()
                return taken
            }
            let results = await write([job] + others.map(\.job))
            for (waiter, result) in zip(others, results.dropFirst()) {
                waiter.continuation.resume(returning: .done(result))
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
}
