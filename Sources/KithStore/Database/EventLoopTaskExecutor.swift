import NIOCore
import NIOPosix

/// An event loop as a task executor, so that a request's work stays on its event loop without a queue
/// round trip at every `await` (issue 12, docs/decisions/0006-reads-at-the-event-loops-pace.md).
///
/// When NIO serves as Swift's global executor, it runs each job "on" its event loop as a serial
/// executor. Every nonisolated `async` function formally runs on the generic executor, so entering or
/// resuming one from such a job is a switch of executor: the runtime enqueues the task on the event loop
/// again and returns to the loop — about 50 times for one `GET /v1/me`, measured with a uprobe on
/// `swift_task_switch`, a fifth of the request's time. A task that prefers this executor runs its jobs
/// as generic work with this task executor, so those hops are no switch at all; the task leaves the
/// loop only where it really waits (a write transaction, PostgreSQL, a group commit).
///
/// SQLite's writer runs its transactions on a loop of its own through one of these (``SQLiteWriter``).
public final class EventLoopTaskExecutor: TaskExecutor {
    public let loop: any EventLoop

    public init(loop: any EventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }

    /// One executor per event loop of NIO's singleton group.
    private static let executors: [EventLoopTaskExecutor] = MultiThreadedEventLoopGroup.singleton.makeIterator()
        .map { EventLoopTaskExecutor(loop: $0) }

    /// The executor of the event loop running the caller, if it runs on one of the singleton group's.
    public static var current: EventLoopTaskExecutor? {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return nil }
        return executors.first { $0.loop === loop }
    }
}
