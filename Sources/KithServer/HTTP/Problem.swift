import Foundation
import HTTPTypes
import Hummingbird
import KithCore
import Logging
import NIOCore

/// An RFC 9457 problem document.
struct Problem: Codable, Sendable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    var field: String?
    var instance: String?
}

extension KithError.Code {
    /// The HTTP status the code declares, with its standard reason phrase (the problem's `title`).
    var status: HTTPResponse.Status {
        Self.standardStatuses.first { $0.code == httpStatus } ?? HTTPResponse.Status(code: httpStatus)
    }

    /// The statuses Kith answers with, for their reason phrases.
    static let standardStatuses: [HTTPResponse.Status] = [
        .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .conflict, .contentTooLarge,
        .unprocessableContent, .tooManyRequests, .internalServerError, .serviceUnavailable,
    ]

    /// The stable problem `type` URI of each error code.
    var typeURI: String { "https://kith.example/problems/\(rawValue)" }
}

extension KithError: ResponseGenerator {}
extension KithError: HTTPResponseError {
    public var status: HTTPResponse.Status { code.status }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let problem = Problem(
            type: code.typeURI,
            title: code.status.reasonPhrase,
            status: code.status.code,
            detail: detail,
            code: code.rawValue,
            field: field,
            instance: nil
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: code.status,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(problem)))
        )
    }
}

/// Turns every error into a problem document: a ``KithError`` as itself, Hummingbird's HTTP errors by
/// status, anything else as a 500 whose log line names only the error's type (never its text, which
/// may quote input).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The registered operations, to answer 405 with `Allow` for a known path and another method.
    var api: API? = nil

    func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as KithError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            if error.status == .notFound || error.status == .methodNotAllowed, let api,
                case let allowed = api.allowedMethods(path: request.uri.path), !allowed.isEmpty
            {
                var response = try KithError(.methodNotAllowed, detail: "This resource does not support this method.")
                    .response(from: request, context: context)
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            }
            let code: KithError.Code =
                switch error.status {
                case .notFound: .notFound
                case .contentTooLarge: .payloadTooLarge
                case .unauthorized: .unauthenticated
                case .badRequest: .malformedJSON
                default: .internalError
                }
            let detail =
                switch code {
                case .notFound: "There is no such resource."
                case .payloadTooLarge: "The request body is too large."
                default: "The request could not be processed."
                }
            return try KithError(code, detail: detail).response(from: request, context: context)
        } catch is CancellationError {
            // The client went away or the server is shutting down: nothing failed, and nobody reads the
            // answer. Not logged as a server fault.
            return try KithError(.storeUnavailable, detail: "The request was cancelled; nothing was changed.")
                .response(from: request, context: context)
        } catch {
            context.logger.error("unexpected error", metadata: ["error.type": "\(type(of: error))"])
            return try KithError(.internalError, detail: "Something went wrong; nothing was changed.")
                .response(from: request, context: context)
        }
    }
}
