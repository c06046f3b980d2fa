import HTTPTypes
import Hummingbird
import KithStore
import NIOCore

/// An IP address as its bytes: 4 for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address is its IPv4 address).
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    init?(_ address: SocketAddress) {
        // `sockaddr_in` keeps the address at byte 4, `sockaddr_in6` at byte 8, on every platform.
        let (offset, count): (Int, Int)
        switch address {
        case .v4: (offset, count) = (4, 4)
        case .v6: (offset, count) = (8, 16)
        case .unixDomainSocket: return nil
        }
        let bytes = address.withSockAddr { pointer, length in
            length >= offset + count
                ? Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer) + offset, count: count)) : []
        }
        self.init(bytes: bytes)
    }

    /// Parses an address in text: dotted IPv4, or IPv6 in any RFC 4291 form (without a zone).
    init?(_ text: some StringProtocol) {
        guard text.utf8.count <= 45, !text.contains("%"),
            let address = try? SocketAddress(ipAddress: String(text), port: 0)
        else { return nil }
        self.init(address)
    }

    init?(bytes: [UInt8]) {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            self.bytes = Array(bytes[12...])
        } else if bytes.count == 4 || bytes.count == 16 {
            self.bytes = bytes
        } else {
            return nil
        }
    }

    /// The first `bits` bits, the rest zero.
    func masked(to bits: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(8, max(0, bits - index * 8))
            return kept == 8 ? byte : byte & ~(0xff >> kept)
        }
    }

    /// The client's own address for per-address limits: an IPv4 address, or an IPv6 /64 (what one
    /// subscriber is given, and can rotate through at will).
    var addressKey: String {
        bytes.count == 4 ? description : "\(IPAddress(bytes: masked(to: 64))!)/64"
    }

    /// The client's network for limits shared by neighbours: the IPv4 /24 or the IPv6 /56 (issue 15 §1).
    var network: String {
        bytes.count == 4 ? "\(IPAddress(bytes: masked(to: 24))!)/24" : "\(IPAddress(bytes: masked(to: 56))!)/56"
    }

    var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

/// A CIDR block: `192.0.2.0/24`, `2001:db8::/32`, or one address.
struct IPNetwork: Sendable, Equatable {
    let base: IPAddress
    let bits: Int

    init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0].trimmingSpaces) else { return nil }
        let width = address.bytes.count * 8
        let bits = parts.count == 2 ? Int(parts[1].trimmingSpaces) : width
        guard let bits, (0...width).contains(bits) else { return nil }
        base = IPAddress(bytes: address.masked(to: bits))!
        self.bits = bits
    }

    func contains(_ address: IPAddress) -> Bool {
        address.bytes.count == base.bytes.count && address.masked(to: bits) == base.bytes
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        let text = Substring(self)
        let start = text.firstIndex { $0 != " " && $0 != "\t" } ?? text.endIndex
        let end = text.lastIndex { $0 != " " && $0 != "\t" }.map { text.index(after: $0) } ?? start
        return text[start..<Swift.max(start, end)]
    }
}

/// Where a request comes from: the TCP peer, or — when the peer is one of `KITH_TRUSTED_PROXIES` — the
/// client the proxies name in the one header they write, `X-Forwarded-For` or `Forwarded` (RFC 7239),
/// as `KITH_FORWARDED_HEADER` says (GEN-05, issue 15 §4). The other header is never read: a proxy passes a
/// header it does not write through as the client sent it.
///
/// The header is read from the right: each hop a trusted proxy appended is skipped, and the first address
/// no trusted proxy owns is the client. A header from an untrusted peer is ignored, so no client can
/// choose its own rate-limit bucket.
struct ClientAddressResolver: Sendable {
    let trustedProxies: [IPNetwork]
    /// Whether the proxies write `Forwarded` rather than `X-Forwarded-For`.
    var forwarded = false

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwarded = HTTPField.Name("Forwarded")!

    func client(peer: IPAddress?, headers: HTTPFields) -> IPAddress? {
        guard let peer, isTrusted(peer) else { return peer }
        let hops =
            forwarded
            ? headers[values: Self.forwarded].flatMap { $0.split(separator: ",") }.compactMap(Self.forwardedForValue)
            : headers[values: Self.forwardedFor].flatMap { $0.split(separator: ",").map { String($0.trimmingSpaces) } }
        var client = peer
        for hop in hops.reversed() {
            // An address a proxy could not read (`unknown`, an obfuscated name) ends the walk at the last proxy.
            guard let address = Self.address(of: hop) else { return client }
            client = address
            if !isTrusted(address) { return address }
        }
        return client
    }

    func isTrusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }

    /// The `for=` parameter of one `Forwarded` element.
    static func forwardedForValue(_ element: Substring) -> String? {
        for pair in element.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingSpaces.lowercased() == "for" else { continue }
            var value = parts[1].trimmingSpaces
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            return String(value)
        }
        return nil
    }

    /// The address of a hop: `192.0.2.1`, `192.0.2.1:443`, `[2001:db8::1]` or `[2001:db8::1]:443`, `2001:db8::1`.
    static func address(of hop: String) -> IPAddress? {
        if hop.hasPrefix("["), let close = hop.firstIndex(of: "]") {
            return IPAddress(hop[hop.index(after: hop.startIndex)..<close])
        }
        if let address = IPAddress(hop) { return address }
        if let colon = hop.lastIndex(of: ":"), hop.firstIndex(of: ":") == colon { return IPAddress(hop[..<colon]) }
        return nil
    }
}

extension CodeRequester {
    init(_ context: KithRequestContext) {
        self.init(address: context.clientAddress, network: context.clientNetwork)
    }
}

/// Replaces the TCP peer with the client the trusted proxies name (``ClientAddressResolver``); added
/// only when `KITH_TRUSTED_PROXIES` names any.
struct ClientAddressMiddleware: RouterMiddleware {
    let resolver: ClientAddressResolver

    func handle(
        _ request: Request,
        context: KithRequestContext,
        next: @concurrent (Request, KithRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.client = resolver.client(peer: context.client, headers: request.headers)
        return try await next(request, context)
    }
}
