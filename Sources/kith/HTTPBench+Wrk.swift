import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What went wrong in `kith bench http`, said plainly (the bench fails rather than print doubtful figures).
struct HTTPBenchError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// One `wrk` run's figures, as the `done` hook of ``WrkRunner/script`` writes them.
struct WrkFigures: Codable, Sendable {
    var requests: Int
    var durationUs: Int
    var connect: Int
    var read: Int
    var write: Int
    var timeout: Int
    var non2xx: Int
    var p50Us: Int
    var p90Us: Int
    var p99Us: Int
    var meanUs: Double
    var maxUs: Int

    var requestsPerSecond: Double { Double(requests) / (Double(max(durationUs, 1)) / 1e6) }
    var socketErrors: Int { connect + read + write + timeout }
}

/// Drives Debian's `wrk` on its own core (`taskset -c`), with a Lua script that sets the bearer token
/// from the environment and prints exact percentiles from wrk's own histogram (as `gates/test_load.py`).
struct WrkRunner: Sendable {
    static let wrk = "/usr/bin/wrk"
    static let taskset = "/usr/bin/taskset"

    var core: Int
    var threads: Int
    var connections: Int
    /// Where the Lua script and each run's output are written.
    var directory: URL

    static let script = #"""
        local token = os.getenv("KITH_WRK_TOKEN")
        wrk.method = "GET"
        if token ~= nil and token ~= "" then
          wrk.headers["Authorization"] = "Bearer " .. token
        end
        done = function(summary, latency, requests)
          io.write(string.format(
            'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"non2xx":%d,' ..
            '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
            summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
            summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(90),
            latency:percentile(99), latency.mean, latency.max))
        end
        """#

    /// Checks that `wrk` and `taskset` are installed and writes the Lua script.
    func prepare() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.wrk) else {
            throw HTTPBenchError("\(Self.wrk) is missing: apt-get install wrk")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.taskset) else {
            throw HTTPBenchError("\(Self.taskset) is missing: apt-get install util-linux")
        }
        try Self.script.write(to: directory.appendingPathComponent("bench.lua"), atomically: true, encoding: .utf8)
    }

    /// Runs `wrk` against `url` for `seconds`, sending `token` as the bearer when given.
    ///
    /// - Throws: when wrk fails or prints no figures; non-2xx answers and socket errors are the caller's to judge.
    func run(_ url: String, token: String?, seconds: Int) async throws -> WrkFigures {
        let output = directory.appendingPathComponent("wrk-\(UUID().uuidString).txt")
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
            throw HTTPBenchError("cannot write \(output.path)")
        }
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.taskset)
        process.arguments = [
            "-c", String(core), Self.wrk, "-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--timeout", "5s",
            "-s", directory.appendingPathComponent("bench.lua").path, url,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["KITH_WRK_TOKEN"] = token ?? ""
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        // Waits without blocking a thread of the process being measured.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0,
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("WRKJSON ") })
        else {
            throw HTTPBenchError("wrk failed (exit \(process.terminationStatus)) on \(url):\n\(text)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let figures = try decoder.decode(WrkFigures.self, from: Data(line.dropFirst("WRKJSON ".count).utf8))
        // wrk exits with up to one request per connection still queued in the server, which goes on serving
        // them: let that work drain (about one request's latency) before the next run starts measuring.
        try await Task.sleep(for: .milliseconds(min(5_000, 200 + figures.maxUs / 1000)))
        return figures
    }
}

/// Runs this process on one core, so that the servers measured share one core and the load generator
/// has the other to itself.
///
/// Glibc's Swift module does not export `sched_setaffinity` (it needs `_GNU_SOURCE`), so the command
/// re-executes itself under `taskset -c CORE` before it starts anything: every thread the process ever
/// has, the runtime's included, then starts on that core, and NIO sizes its event loop group by the
/// affinity it sees (one loop). Running `taskset -c CORE kith bench http …` yourself skips the re-exec.
enum CorePinning {
    /// Set in the re-executed process to the cores the original was allowed (and so stops a second re-exec).
    static let mark = "KITH_BENCH_CORES_BEFORE_PINNING"

    /// The cores this command was allowed when it was started, before any re-exec.
    static var coresAtStart: String { ProcessInfo.processInfo.environment[mark] ?? DiscoveryBench.allowedCores }

    /// Returns when this process runs only on `core`; otherwise replaces it with itself under
    /// `taskset -c core` (and so does not return).
    static func runOnly(on core: Int) throws {
        if DiscoveryBench.allowedCores == String(core) { return }
        guard ProcessInfo.processInfo.environment[mark] == nil else {
            throw HTTPBenchError(
                "taskset did not pin the process to core \(core) (allowed: \(DiscoveryBench.allowedCores))"
            )
        }
        #if os(Linux)
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        setenv(mark, DiscoveryBench.allowedCores, 1)
        let arguments: [String] = ["taskset", "-c", String(core), executable] + CommandLine.arguments.dropFirst()
        var argv = arguments.map { strdup($0) } + [nil]
        fflush(nil)  // every stream: what was printed must not be lost by the exec
        execv(WrkRunner.taskset, &argv)
        throw HTTPBenchError("cannot re-execute under \(WrkRunner.taskset) (errno \(errno))")
        #else
        throw HTTPBenchError("pinning to a core needs Linux")
        #endif
    }

    /// The threads of this process now.
    static var threads: [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).compactMap { Int32($0) }
    }

    /// The threads whose allowed cores are not exactly `core` (none, once ``runOnly(on:)`` returned).
    static func strays(from core: Int) -> [String] {
        threads.compactMap { thread in
            guard let allowed = cpusAllowedList(status: "/proc/self/task/\(thread)/status"), allowed != String(core)
            else { return nil }
            return "\(thread): \(allowed)"
        }
    }
}
