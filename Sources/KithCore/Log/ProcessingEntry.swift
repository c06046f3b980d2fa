import Foundation

/// How a processing act came about: the evidence that a person (or a named system duty) initiated it.
///
/// This is what the platform in Wang v. Maimai could not produce (ACC-11, MSG-04).
public struct Initiation: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A person's own request through the API; `request` is its request ID.
        case userRequest = "user-request"
        /// An operator's command (migration, retention sweep, verification).
        case operatorCommand = "operator-command"
        /// A scheduled duty of the system itself (retention sweeps).
        case system
    }

    public var kind: Kind
    /// The API operation or command that caused the processing (`verifyPhone`).
    public var action: String
    /// The request ID (or command run ID).
    public var request: String?
    /// A reference to the session that made the request: `sess:` and the first 16 hex digits of the
    /// SHA-256 of its token, as `sessions.token_hash` keeps it (never the token itself, which is 32
    /// random bytes).
    public var session: String?

    public init(kind: Kind, action: String, request: String? = nil, session: String? = nil) {
        self.kind = kind
        self.action = action
        self.request = request
        self.session = session
    }
}

/// One entry of the processing log (SEC-01, SEC-08, ACC-11): who processed whose information, for which
/// purpose, on which basis, caused by what.
///
/// People appear only as pseudonyms derived from per-subject keys, so destroying a person's key on
/// erasure makes their entries unlinkable while the hash chain still verifies. `detail` is fixed text
/// with counts, never personal data ("1000 numbers matched 12 accounts").
public struct ProcessingEntry: Codable, Sendable, Equatable {
    public var seq: Int
    /// Milliseconds since 1970.
    public var at: Int64
    public var actor: String
    public var subject: String?
    public var purpose: PurposeID
    public var basis: LegalBasis
    /// The consent record (or other basis record) the gate found.
    public var basisRef: String?
    public var initiation: Initiation
    public var detail: String
    /// Evidence bound into the chain with the act (ACC-11): absent from entries that carry none, so
    /// their canonical bytes are what they always were.
    public var evidence: [String: String]?

    public init(
        seq: Int,
        at: Int64,
        actor: String,
        subject: String?,
        purpose: PurposeID,
        basis: LegalBasis,
        basisRef: String?,
        initiation: Initiation,
        detail: String,
        evidence: [String: String]? = nil
    ) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.subject = subject
        self.purpose = purpose
        self.basis = basis
        self.basisRef = basisRef
        self.initiation = initiation
        self.detail = detail
        self.evidence = evidence
    }

    /// The canonical bytes that are hashed into the Merkle tree: JSON with sorted keys.
    ///
    /// Written by hand, byte for byte what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
    /// writes (the entries logged before were hashed from those bytes, and a test holds the two equal):
    /// the encoder was a tenth of the writer thread's time in `kith bench messages`. Evidence whose keys
    /// are not all ASCII — none Kith writes — goes through the encoder, whose key order is then the rule.
    public func canonicalJSON() -> String {
        if let evidence, !evidence.keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) { return encodedJSON() }
        var out: [UInt8] = []
        out.reserveCapacity(320 + detail.utf8.count)
        var first = true
        func key(_ name: StaticString) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: "\":".utf8)
        }
        key("actor")
        Self.appendString(actor, to: &out)
        key("at")
        out.append(contentsOf: String(at).utf8)
        key("basis")
        Self.appendString(basis.rawValue, to: &out)
        if let basisRef {
            key("basisRef")
            Self.appendString(basisRef, to: &out)
        }
        key("detail")
        Self.appendString(detail, to: &out)
        if let evidence {
            key("evidence")
            if evidence.isEmpty { out.append(UInt8(ascii: "{")) }
            for (offset, name) in evidence.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
                .enumerated()
            {
                out.append(offset == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
                Self.appendString(name, to: &out)
                out.append(UInt8(ascii: ":"))
                Self.appendString(evidence[name]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        key("initiation")
        out.append(contentsOf: "{\"action\":".utf8)
        Self.appendString(initiation.action, to: &out)
        out.append(contentsOf: ",\"kind\":".utf8)
        Self.appendString(initiation.kind.rawValue, to: &out)
        if let request = initiation.request {
            out.append(contentsOf: ",\"request\":".utf8)
            Self.appendString(request, to: &out)
        }
        if let session = initiation.session {
            out.append(contentsOf: ",\"session\":".utf8)
            Self.appendString(session, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        key("purpose")
        Self.appendString(purpose.rawValue, to: &out)
        key("seq")
        out.append(contentsOf: String(seq).utf8)
        if let subject {
            key("subject")
            Self.appendString(subject, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The same bytes through `JSONEncoder`: the definition ``canonicalJSON()`` is held to.
    public func encodedJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a value made of strings and integers cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    /// A JSON string as `JSONEncoder` writes one without escaping slashes: quote, backslash and the
    /// control characters escaped (the short forms where JSON has them), everything else as UTF-8.
    private static func appendString(_ text: String, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0x0f)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The evidence reference other records (messages, receipts) carry: `log:<seq>`.
    public var reference: String { "log:\(seq)" }
}
