import HTTPTypes
import Hummingbird

/// One documented operation: method, path template (OpenAPI form) and `operationId`.
public struct APIOperation: Hashable, Sendable, CustomStringConvertible {
    public var method: String
    public var path: String
    public var operationId: String
    public var description: String { "\(method) \(path) (\(operationId))" }

    public init(method: String, path: String, operationId: String) {
        self.method = method
        self.path = path
        self.operationId = operationId
    }
}

/// Registers routes together with the operations they implement, so the OpenAPI document can be
/// checked against the implementation route by route (and vice versa).
final class API: @unchecked Sendable {
    let router: Router<KithRequestContext>
    private(set) var operations: [APIOperation] = []

    init(router: Router<KithRequestContext>) { self.router = router }

    /// The methods registered for a concrete path (matching `{parameter}` templates).
    func allowedMethods(path: String) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return operations.filter { operation in
            let template = operation.path.split(separator: "/", omittingEmptySubsequences: false)
            return template.count == parts.count
                && zip(template, parts).allSatisfy { $0.hasPrefix("{") ? !$1.isEmpty : $0 == $1 }
        }.map(\.method).sorted()
    }

    /// Adds a route. `path` uses OpenAPI templates (`/v1/me/consents/{purpose}`).
    ///
    /// - Parameter group: a route group with middleware of its own (the operator routes); the router
    ///   itself by default.
    func add<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ operationId: String,
        in group: RouterGroup<KithRequestContext>? = nil,
        handler: @escaping @Sendable (Request, KithRequestContext) async throws -> Output
    ) {
        operations.append(APIOperation(method: method.rawValue, path: path, operationId: operationId))
        let routerPath = path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : part
        }.joined(separator: "/")
        if let group {
            group.on(RouterPath(routerPath), method: method, use: handler)
        } else {
            router.on(RouterPath(routerPath), method: method, use: handler)
        }
    }
}
