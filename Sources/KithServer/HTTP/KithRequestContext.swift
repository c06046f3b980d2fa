import Hummingbird
import HummingbirdAuth
import KithCore
import KithStore
import NIOCore

/// The request context: Hummingbird's core storage plus the caller's identity and address.
public struct KithRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is asking: a signed-in person (``AuthenticationMiddleware``) or, on the operator routes, an
    /// operator (``OperatorAuthenticator``).
    public var identity: Principal?
    /// The signed-in person, if a person is asking.
    public var signedIn: SignedInUser? { identity?.signedInUser }
    /// The client: the TCP peer, or the client a trusted proxy names (``ClientAddressMiddleware``).
    var client: IPAddress?
    /// The client's address (an IPv6 client's /64), for per-address rate limits; only ever stored as a
    /// keyed digest.
    public var clientAddress: String { client?.addressKey ?? "unknown" }
    /// The client's network (IPv4 /24, IPv6 /56), for limits its neighbours share; only ever stored as a
    /// keyed digest.
    public var clientNetwork: String { client?.network ?? "unknown" }
    public var maxUploadSize: Int { 64 * 1024 }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.client = source.channel.remoteAddress.flatMap(IPAddress.init)
    }

    /// The signed-in person, or a 401 problem.
    public func requireUser() throws -> SignedInUser {
        guard let signedIn else { throw KithError.unauthenticated }
        return signedIn
    }

    /// The operator asking, or a problem: 403 for a signed-in person (operators authenticate apart
    /// from users), 401 for anyone else.
    public func requireOperator() throws -> String {
        switch identity {
        case .operator(let name): return name
        case .user, .partner: throw KithError(.forbidden, detail: "Only an operator may do this.")
        case nil: throw KithError.unauthenticated
        }
    }

    /// The partner asking, or a problem: 403 for a person or an operator, 401 for anyone else (ACC-05).
    public func requirePartner() throws -> String {
        switch identity {
        case .partner(let name): return name
        case .user, .operator: throw KithError(.forbidden, detail: "Only a partner may do this.")
        case nil: throw KithError.unauthenticated
        }
    }

    /// Evidence of the request that initiates a processing act (ACC-11).
    public func initiation(_ operation: String) -> Initiation {
        Initiation(kind: .userRequest, action: operation, request: id, session: signedIn?.sessionRef)
    }
}
