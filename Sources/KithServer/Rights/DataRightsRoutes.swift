import Foundation
import Hummingbird
import KithCore
import KithStore

/// What `deleteMyAccount` and `getAccountDeletionStatus` answer: times and counts, never a number or ID
/// of the person.
struct DeletionResponse: Codable, Sendable {
    var deletionId: String
    var status: String
    var requestedAt: Int64
    var eraseAfter: Int64
    var erasedAt: Int64?
    /// Rows erased, per table, once erased.
    var erasedRows: [String: Int]
    /// What the scan right after the erasure checked and found, signed with the log's key.
    var receipt: ErasureReceipt?

    init(_ deletion: AccountDeletion) {
        deletionId = deletion.id
        status = deletion.state.rawValue
        requestedAt = deletion.requestedAt
        eraseAfter = deletion.eraseAfter
        erasedAt = deletion.erasedAt
        erasedRows = deletion.erasedRows
        receipt = deletion.receipt
    }
}

/// `submitDataRequest`: what the person asks for, in their words.
struct DataRequestBody: StrictDecodable {
    static let fields: Set<String> = ["kind", "text"]
    var kind: String
    var text: String

    func validate() throws {
        guard DataRequest.Kind(rawValue: kind) != nil else {
            let kinds = DataRequest.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw KithError.invalid("kind", "Use one of: \(kinds).")
        }
        guard text.utf8.count <= 16_000 else { throw KithError.invalid("text", "At most 4,000 characters.") }
    }
}

/// `exportMyData`, `getExportSchema` (DSR-01, DSR-05): a copy of everything, at once, as data and as a
/// readable statement. `startAccountDeletion`, `deleteMyAccount`, `getAccountDeletionStatus` (DSR-04,
/// ACC-10): account cancellation in the app, confirmed by a code to the account's own number and nothing else.
struct DataRightsRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.get, "/v1/me/export", "exportMyData") { _, context in
            let user = try context.requireUser().user
            let document = try await DataExport(store: services.store).export(
                user,
                initiation: context.initiation("exportMyData")
            )
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/zip",
                    .contentDisposition: "attachment; filename=\"kith-export.zip\"",
                    .cacheControl: "no-store",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: try await ExportArchive.zip(document)))
            )
        }

        api.add(.post, "/v1/me/data-requests", "submitDataRequest") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(DataRequestBody.self, context: context, maxBytes: 20_000)
            let submitted = try await services.dataRequests.submit(
                DataRequest.Kind(rawValue: body.kind)!,
                text: body.text,
                by: user,
                initiation: context.initiation("submitDataRequest")
            )
            return JSONResponse(submitted, status: .created)
        }

        api.add(.get, "/schemas/export-v1.json", "getExportSchema") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/schema+json"],
                body: .init(byteBuffer: ByteBuffer(string: ExportSchema.json))
            )
        }

        api.add(.post, "/v1/me/deletion/verifications", "startAccountDeletion") { _, context in
            let user = try context.requireUser().user
            let started = try await services.deliverCode {
                try await services.erasure.startDeletion(
                    of: user,
                    requester: CodeRequester(context),
                    initiation: context.initiation("startAccountDeletion")
                )
            }
            return JSONResponse(started, status: .accepted)
        }

        api.add(.post, "/v1/me/deletion", "deleteMyAccount") { request, context in
            let user = try context.requireUser().user
            let body = try await request.decodeStrict(ChangeNumberBody.self, context: context, maxBytes: 4096)
            try await services.limitCodeGuesses(context, operation: "deleteMyAccount")
            let deletion = try await services.erasure.delete(
                user,
                verificationId: body.verificationId,
                code: body.code,
                initiation: context.initiation("deleteMyAccount")
            )
            return JSONResponse(DeletionResponse(deletion), status: deletion.state == .erased ? .ok : .accepted)
        }

        // The deletion ID is the capability: it was handed to the person who asked, and once the account
        // is erased nobody is left to sign in as.
        api.add(.get, "/v1/account-deletions/{deletionId}", "getAccountDeletionStatus") { _, context in
            let id = try context.identifier("deletionId")
            guard let deletion = try await services.erasure.status(id) else {
                throw KithError(.notFound, field: "deletionId", detail: "There is no such deletion.")
            }
            return JSONResponse(DeletionResponse(deletion))
        }
    }
}

/// The JSON Schema of `data.json` (`Sources/KithServer/Resources/export-v1.schema.json`), served at
/// ``ExportDocument/schemaID``'s path.
public enum ExportSchema {
    public static let json: String = {
        guard
            let url = Bundle.module.url(
                forResource: "export-v1.schema",
                withExtension: "json",
                subdirectory: "Resources"
            ),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "{}" }
        return text
    }()
}
