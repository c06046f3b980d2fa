import Hummingbird
import KithCore
import KithStore
import NIOCore

/// The request context: Hummingbird's core storage plus the caller's identity and address.
public struct KithRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The signed-in person, set by ``AuthenticationMiddleware``.
    public var signedIn: SignedInUser?
    /// The client's address, for per-address rate limits; only ever stored as a keyed digest.
    public let clientAddress: String
    public var maxUploadSize: Int { 64 * 1024 }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The signed-in person, or a 401 problem.
    public func requireUser() throws -> SignedInUser {
        guard let signedIn else { throw KithError.unauthenticated }
        return signedIn
    }

    /// Evidence of the request that initiates a processing act (ACC-11).
    public func initiation(_ operation: String) -> Initiation {
        Initiation(kind: .userRequest, action: operation, request: id, session: signedIn?.sessionRef)
    }
}
