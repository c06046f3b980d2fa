import ArgumentParser
import Configuration
import Foundation
import Hummingbird
import KithCore
import KithServer
import KithStore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The entry point: hands Swift concurrency's global executor to NIO's event loops, then runs the command.
///
/// Without it every awaited database call and every request handler hops between the event loop that
/// owns the socket and Swift's own thread pool; on a loaded or single core those thread switches cost
/// more than the request itself (issue 12, measured in docs/performance.md). Vapor's template does the
/// same. Only the commands that serve HTTP do it: the offline ones (`bench suggestions`, `ledger
/// verify`, …) are CPU-bound, and ran slower on the event loops (ingesting a graph 0.75× as fast).
/// Tests keep Swift's default executor.
@main
enum Entrypoint {
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "serve" || Array(arguments.prefix(2)) == ["bench", "http"] {
            // One event loop per core this process may run on (`taskset`, a container's cpuset): NIO
            // counts the machine's cores, and two loops sharing one core wake each other for every hop.
            if ProcessInfo.processInfo.environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] == nil,
                let cores = allowedCoreCount
            {
                NIOSingletons.groupLoopCountSuggestion = cores
            }
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        await Kith.main()
    }
}

/// The cores this process may run on, from `Cpus_allowed_list` in `/proc/self/status` ("0", "0-3,6").
var allowedCoreCount: Int? {
    guard let list = allowedCores else { return nil }
    var count = 0
    for range in list.split(separator: ",") {
        let bounds = range.split(separator: "-").compactMap { Int($0) }
        guard let first = bounds.first, let last = bounds.last, last >= first else { return nil }
        count += last - first + 1
    }
    return count > 0 ? count : nil
}

/// `Cpus_allowed_list` of this process (`taskset` may narrow it while it runs); `activeProcessorCount`
/// ignores affinity.
var allowedCores: String? { cpusAllowedList(status: "/proc/self/status") }

/// `Cpus_allowed_list` from a `/proc` status file (of the process or of one of its threads).
func cpusAllowedList(status path: String) -> String? {
    (try? String(contentsOfFile: path, encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }?
        .dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
}

struct Kith: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kith",
        abstract: "Kith: a privacy-first social-graph server.",
        subcommands: [
            Serve.self, Migrate.self, Ledger.self, OperatorCommand.self, PartnerCommand.self, EraseVerify.self,
            EvalSuggestions.self,
            TrainSuggestions.self,
            Bench.self,
        ]
    )
}

/// Options every subcommand that touches the store shares; they override `KITH_*` variables and `.env`.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "The store (KITH_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("key-file"), help: "Development key file (KITH_KEY_FILE).")
    var keyFile: String?

    func configuration(extra: [String: ConfigContent] = [:]) async throws -> KithConfiguration {
        var overrides = extra
        if let databaseURL { overrides["kith.database.url"] = .string(databaseURL) }
        if let keyFile { overrides["kith.key.file"] = .string(keyFile) }
        return try KithConfiguration(reader: try await KithConfiguration.reader(overrides: overrides))
    }
}

func makeLogger(_ level: Logger.Level) -> Logger {
    var logger = Logger(label: "kith")
    logger.logLevel = level
    return logger
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server until SIGTERM or SIGINT.")

    @OptionGroup var store: StoreOptions

    @Option(help: "Port to listen on (KITH_PORT, default 8080).")
    var port: Int?

    @Option(help: "Address to listen on (KITH_HOST, default 127.0.0.1).")
    var host: String?

    func run() async throws {
        var extra: [String: ConfigContent] = [:]
        if let port { extra["kith.port"] = .int(port) }
        if let host { extra["kith.host"] = .string(host) }
        let configuration = try await store.configuration(extra: extra)
        let logger = makeLogger(configuration.logLevel)
        let (app, _) = try await buildApplication(configuration: configuration, logger: logger)
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the store migrations not yet applied.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let configuration = try await store.configuration()
        let logger = makeLogger(configuration.logLevel)
        let applied = try await withDatabase(url: configuration.databaseURL, logger: logger) { database in
            try await database.migrate(logger: logger)
        }
        print(applied.isEmpty ? "store is up to date" : "applied: " + applied.joined(separator: ", "))
    }
}

/// `kith operator create --name NAME`: the operators who sign in apart from users (SEC-02).
struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Manage operators.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an operator and print its bearer token once (only its hash is stored)."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The operator's name: a role or staff handle, 2–64 of a–z, 0–9, '.', '_', '-'.")
        var name: String

        func run() async throws {
            let name = self.name
            try await createCredential(store, kind: "operator") { kithStore in
                let credential = try await Operators(store: kithStore).create(
                    name: name,
                    initiation: Initiation(kind: .operatorCommand, action: "operatorCreate")
                )
                return (credential.name, credential.token)
            }
        }
    }
}

/// Opens the store, runs `create` and prints the new credential's token, once (`kith operator create`,
/// `kith partner create`): only its hash is stored.
func createCredential(
    _ options: StoreOptions,
    kind: String,
    _ create: @Sendable (KithStore) async throws -> (name: String, token: String)
) async throws {
    let configuration = try await options.configuration()
    let logger = makeLogger(configuration.logLevel)
    let keys = try configuration.keys(logger: logger)
    let credential = try await withDatabase(url: configuration.databaseURL, logger: logger) { database in
        try await database.migrate(logger: logger)
        return try await create(KithStore(database: database, keys: keys))
    }
    print("\(kind) \(credential.name) created; its token, shown only now:")
    print(credential.token)
}

/// `kith partner create` (ACC-05): a partner's credential, for the referral-code routes only.
struct PartnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partner",
        abstract: "Manage partners (referrers such as an offline store).",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a partner and print its bearer token once (only its hash is stored)."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The partner's name, 2–64 of a–z, 0–9, '.', '_', '-'.")
        var name: String

        func run() async throws {
            let name = self.name
            try await createCredential(store, kind: "partner") { kithStore in
                let credential = try await Partners(store: kithStore).create(
                    name: name,
                    initiation: Initiation(kind: .operatorCommand, action: "partnerCreate")
                )
                return (credential.name, credential.token)
            }
        }
    }
}

/// `kith erase-verify` (DSR-04): proof of erasure from the operator's shell, with the store's bytes too.
struct EraseVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase-verify",
        abstract:
            "Scan every table, the SQLite file and WAL (or a pg_dump) and given files for a person; print the signed receipt."
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "The person's user ID.")
    var user: String

    @Option(
        help:
            "The person's phone number; without it, the first line of standard input (which `ps` and the shell's history do not show)."
    )
    var phone: String?

    @Option(help: "Another file to scan, as LABEL=PATH (the outbox, a log file); repeatable.")
    var file: [String] = []

    func run() async throws {
        let configuration = try await store.configuration()
        let logger = makeLogger(configuration.logLevel)
        let keys = try configuration.keys(logger: logger)
        let typed = phone ?? readLine(strippingNewline: true) ?? ""
        guard case .success(let number) = PhoneNumber.parse(typed, defaultRegion: configuration.defaultRegion) else {
            print("the phone number given is not a phone number")
            throw ExitCode(2)
        }
        var files: [(label: String, path: String)] = try file.map { item in
            guard let equals = item.firstIndex(of: "=") else {
                print("--file takes LABEL=PATH")
                throw ExitCode(2)
            }
            return (String(item[..<equals]), String(item[item.index(after: equals)...]))
        }
        let url = configuration.databaseURL
        let dump = FileManager.default.temporaryDirectory.appendingPathComponent("kith-erase-\(UUID().uuidString).sql")
        defer { try? FileManager.default.removeItem(at: dump) }
        if url.hasPrefix("postgres") {
            // What PostgreSQL holds, as its own dump tool writes it out.
            // The password goes by environment, not on a command line `ps` shows; the dump is the owner's only.
            guard
                FileManager.default.createFile(atPath: dump.path, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                print("could not create a private file for the dump")
                throw ExitCode(1)
            }
            var components = URLComponents(string: url)
            let password = components?.password
            components?.password = nil
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["pg_dump", "--data-only", "--file", dump.path, components?.string ?? url]
            var environment = ProcessInfo.processInfo.environment
            if let password { environment["PGPASSWORD"] = password.removingPercentEncoding ?? password }
            process.environment = environment
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                print("pg_dump failed (exit \(process.terminationStatus)); is it installed?")
                throw ExitCode(1)
            }
            files.append(("pg_dump", dump.path))
        }
        let scanned = files
        let user = UserID(rawValue: self.user)
        let receipt = try await withDatabase(url: url, logger: logger) { database in
            try await database.migrate(logger: logger)
            let store = KithStore(database: database, keys: keys)
            return try await AccountErasure(accounts: PhoneAccounts(store: store), holders: []).verify(
                user,
                phone: number,
                files: scanned,
                by: "kith erase-verify",
                initiation: Initiation(kind: .operatorCommand, action: "eraseVerify")
            )
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(receipt), as: UTF8.self))
        if !receipt.clean { throw ExitCode(1) }
    }
}

struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the processing log.",
        subcommands: [Verify.self, Proof.self, Prove.self, VerifyExport.self]
    )

    /// MSG-04: the evidence of one outbound message, offline: the authorising entry, its inclusion proof
    /// and the signed tree head, checked here with the log's public key before it is printed.
    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the evidence of an outbound message (its authorising entry, proof and signed head) as JSON."
        )

        @OptionGroup var store: StoreOptions

        @Argument(help: "The message ID (messageId of an outbox line).")
        var messageId: String

        func run() async throws {
            let configuration = try await store.configuration()
            let logger = makeLogger(configuration.logLevel)
            let keys = try configuration.keys(logger: logger)
            let id = messageId
            let (evidence, problems) = try await withDatabase(url: configuration.databaseURL, logger: logger) {
                database in
                let store = KithStore(database: database, keys: keys)
                let evidence = try await Operators(store: store).messageEvidence(
                    id,
                    by: "kith-ledger-prove",
                    initiation: Initiation(kind: .operatorCommand, action: "ledgerProve")
                )
                return (
                    evidence,
                    ProcessingLog.check([evidence.proof], head: evidence.treeHead, publicKey: store.log.publicKey)
                )
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(evidence), as: UTF8.self))
            if !problems.isEmpty {
                for problem in problems { print(problem) }
                throw ExitCode(1)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the processing log's Merkle tree and check it against the signed heads."
        )

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let configuration = try await store.configuration()
            let logger = makeLogger(configuration.logLevel)
            let keys = try configuration.keys(logger: logger)
            let report = try await withDatabase(url: configuration.databaseURL, logger: logger) { database in
                try await database.migrate(logger: logger)
                return try await ProcessingLog.verify(on: database, publicKey: ProcessingLog(keys: keys).publicKey)
            }
            print(report)
            if !report.isIntact { throw ExitCode(1) }
        }
    }

    /// DSR-01: a person checks their export's log entries offline, with the tree head and a public key only.
    struct VerifyExport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-export",
            abstract: "Check every log entry of a data export against its signed tree head, offline."
        )

        @Argument(help: "The export archive (kith-export.zip).")
        var file: String

        @Option(help: "The log's public key as the operator publishes it (base64); default: the one the export names.")
        var publicKey: String?

        func run() async throws {
            let (document, _) = try ExportArchive.read(try Data(contentsOf: URL(fileURLWithPath: file)))
            if publicKey == nil {
                print("note: checked with the key the export names; compare it with the operator's published key")
            }
            let problems = ExportArchive.verify(document, publicKey: publicKey)
            let head = document.log.treeHead
            if problems.isEmpty {
                print(
                    "\(document.log.entries.count) entries proved in the signed tree of \(head.treeSize) entries, root \(head.root)"
                )
            } else {
                for problem in problems { print(problem) }
                throw ExitCode(1)
            }
        }
    }

    struct Proof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the RFC 6962 inclusion proof of one entry, as JSON."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The entry's sequence number.")
        var seq: Int

        func run() async throws {
            let configuration = try await store.configuration()
            let logger = makeLogger(configuration.logLevel)
            let seq = self.seq
            let proof = try await withDatabase(url: configuration.databaseURL, logger: logger) { database in
                try await ProcessingLog.inclusionProof(seq: seq, on: database)
            }
            guard let proof else {
                print("no entry \(seq)")
                throw ExitCode(1)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(proof), as: UTF8.self))
        }
    }
}
