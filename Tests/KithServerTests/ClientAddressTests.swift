import HTTPTypes
import Testing

@testable import KithServer

/// GEN-05 (issue 15 §4): per-address limits key on the client, and behind a proxy the client is read from
/// the proxy's header, only when the peer is a proxy the operator trusts.
@Suite("Client addresses behind trusted proxies (GEN-05)")
struct ClientAddressTests {
    static let resolver = ClientAddressResolver(trustedProxies: ["10.0.0.0/8", "fd00::/8"].compactMap(IPNetwork.init))

    static func client(_ peer: String, _ fields: [(String, String)], forwarded: Bool = false) -> String? {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        var resolver = Self.resolver
        resolver.forwarded = forwarded
        return resolver.client(peer: IPAddress(peer), headers: headers).map { "\($0)" }
    }

    @Test("GEN-05 a forwarding header counts only from a trusted proxy, read from the right past every trusted hop")
    func forwardedFor() {
        let spoofed = [("X-Forwarded-For", "203.0.113.9")]
        #expect(Self.client("198.51.100.1", spoofed) == "198.51.100.1")  // not a proxy: the header is ignored
        #expect(Self.client("10.1.1.1", spoofed) == "203.0.113.9")
        // A client that writes its own header gets it appended to, not believed.
        #expect(Self.client("10.1.1.1", [("X-Forwarded-For", "192.0.2.66, 203.0.113.9, 10.2.2.2")]) == "203.0.113.9")
        #expect(
            Self.client("10.1.1.1", [("X-Forwarded-For", "192.0.2.66"), ("X-Forwarded-For", "203.0.113.9")])
                == "203.0.113.9"
        )
        // Only trusted hops: the farthest one is the client.
        #expect(Self.client("10.1.1.1", [("X-Forwarded-For", "10.3.3.3, 10.2.2.2")]) == "10.3.3.3")
        // A hop the proxy could not read ends the walk at the proxy itself.
        #expect(Self.client("10.1.1.1", [("X-Forwarded-For", "unknown")]) == "10.1.1.1")
        #expect(Self.client("10.1.1.1", []) == "10.1.1.1")
    }

    @Test(
        "GEN-05 only the header the proxies write is read: Forwarded (RFC 7239) with quoted IPv6 and ports, or X-Forwarded-For"
    )
    func forwarded() {
        let both = [
            ("Forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.5"),
            ("X-Forwarded-For", "198.51.100.99"),
        ]
        #expect(Self.client("fd00::1", both, forwarded: true) == "2001:db8:cafe:0:0:0:0:17")
        // Proxies that write X-Forwarded-For pass a client's own Forwarded through: it is never read.
        #expect(Self.client("fd00::1", both) == "198.51.100.99")
        #expect(Self.client("10.0.0.2", [("Forwarded", "for=203.0.113.1")]) == "10.0.0.2")
        #expect(
            Self.client("10.0.0.2", [("Forwarded", "For=192.0.2.43:8080;by=10.0.0.2")], forwarded: true) == "192.0.2.43"
        )
        #expect(Self.client("10.0.0.2", [("Forwarded", "for=_hidden")], forwarded: true) == "10.0.0.2")
    }

    @Test("GEN-08 neighbours share a network (IPv4 /24, IPv6 /56), an IPv6 client is its /64; IPv4-mapped IPv6 is IPv4")
    func networks() throws {
        #expect(try #require(IPAddress("203.0.113.77")).network == "203.0.113.0/24")
        #expect(try #require(IPAddress("2001:db8:abcd:12ff:1::1")).network == "2001:db8:abcd:1200:0:0:0:0/56")
        #expect(try #require(IPAddress("::ffff:198.51.100.4")).description == "198.51.100.4")
        // One subscriber's /64 is one client address.
        #expect(try #require(IPAddress("2001:db8:abcd:12ff:1::1")).addressKey == "2001:db8:abcd:12ff:0:0:0:0/64")
        #expect(try #require(IPAddress("203.0.113.77")).addressKey == "203.0.113.77")
        #expect(IPAddress("203.0.113.256") == nil && IPAddress("fe80::1%eth0") == nil && IPAddress("") == nil)
        let block = try #require(IPNetwork("2001:db8::/32"))
        #expect(block.contains(try #require(IPAddress("2001:db8:ffff::1"))))
        #expect(!block.contains(try #require(IPAddress("2001:db9::1"))))
        #expect(!block.contains(try #require(IPAddress("32.1.13.184"))))  // same leading bytes, other family
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("10.0.0.0/x") == nil)
    }
}
