import Foundation
import Hummingbird
import KithCore
import NIOCore

/// A request body type whose fields are known, so unknown fields can be refused.
protocol StrictDecodable: Decodable, Sendable {
    /// Every field name the body may carry.
    static var fields: Set<String> { get }

    /// Checks the limits the contract states beyond types (lengths, ranges); names the field at fault.
    func validate() throws
}

extension StrictDecodable {
    func validate() throws {}
}

/// Checks that consent evidence fields stay within the contract's bounds.
func validateEvidenceBounds(noticeVersion: Int?, textSHA256: String?) throws {
    if let noticeVersion, !(1...1_000_000).contains(noticeVersion) {
        throw KithError.invalid("noticeVersion", "Notice versions run from 1 to 1,000,000.")
    }
    if let textSHA256, textSHA256.unicodeScalars.count > 64 {
        throw KithError.invalid("textSHA256", "A SHA-256 in hex has 64 characters.")
    }
}

/// A body that may turn a consent switch on, carrying the evidence of what the person saw (ACC-02).
protocol ConsentSwitchBody {
    var noticeVersion: Int? { get }
    var locale: NoticeLocale? { get }
    var textSHA256: String? { get }
    var initialState: ConsentEvidence.ControlState? { get }
    var channel: ConsentEvidence.Channel? { get }
}

extension ConsentSwitchBody {
    /// The evidence for turning `purpose` on, or an `invalid-field` problem when any of it is missing.
    func evidence(for purpose: PurposeID) throws -> ConsentEvidence {
        guard let noticeVersion, let locale, let textSHA256, let initialState, let channel else {
            throw KithError.invalid(
                "noticeVersion",
                "Turning this on is a consent: send noticeVersion, locale, textSHA256, initialState and channel."
            )
        }
        return ConsentEvidence(
            purpose: purpose,
            noticeVersion: noticeVersion,
            locale: locale,
            textSHA256: textSHA256,
            initialState: initialState,
            channel: channel
        )
    }
}

extension Request {
    /// Decodes a JSON body strictly: size-limited, well-formed, an object, no unknown fields, right types.
    ///
    /// Errors name the field and never echo its value (it may be a phone number).
    func decodeStrict<T: StrictDecodable>(_ type: T.Type, context: KithRequestContext, maxBytes: Int) async throws -> T
    {
        try T.decodeStrict(from: try await collectBody(maxBytes: maxBytes))
    }

    /// The whole body, at most `maxBytes`.
    /// - Throws: `payload-too-large` past it.
    func collectBody(maxBytes: Int) async throws -> Data {
        do {
            return Data(try await body.collect(upTo: maxBytes).readableBytesView)
        } catch {
            throw KithError(.payloadTooLarge, detail: "The request body is larger than \(maxBytes) bytes.")
        }
    }
}

extension StrictDecodable {
    /// ``Request/decodeStrict(_:context:maxBytes:)`` of bytes already read (a webhook checks their
    /// signature first).
    static func decodeStrict(from data: Data) throws -> Self {
        typealias T = Self
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw KithError(.malformedJSON, detail: "The body is not well-formed JSON.")
        }
        guard let dictionary = object as? [String: Any] else {
            throw KithError(.malformedJSON, detail: "The body must be a JSON object.")
        }
        if let duplicate = data.withUnsafeBytes({ JSONDuplicateKeys.first(in: $0) }) {
            // RFC 8259 §4 leaves a repeated name undefined: one reader keeps the first, another the last
            // (`{"phone": A, "phone": B}` would text A while a proxy checked B). Refused, named only when
            // it is one of the operation's own fields.
            throw KithError(
                .malformedJSON,
                field: duplicate.depth == 1 && T.fields.contains(duplicate.name) ? duplicate.name : nil,
                detail: "The body names the same field twice in one object."
            )
        }
        if dictionary.keys.contains(where: { !T.fields.contains($0) }) {
            throw KithError(
                .unknownField,
                // The key is the client's own text (it could be a phone number): never echoed.
                detail:
                    "This operation does not take this field. It takes: \(T.fields.sorted().joined(separator: ", "))."
            )
        }
        // Optional fields are absent or have a value; `null` is not a value any operation takes.
        if let nullField = dictionary.keys.sorted().first(where: { dictionary[$0] is NSNull }) {
            throw KithError(
                .invalidField,
                field: nullField,
                detail: "This field must not be null; leave it out instead."
            )
        }
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            // Numbers out of range or with a fraction fail before a coding path exists: name the field.
            let field =
                error.fieldPath(within: T.fields)
                ?? dictionary.keys.sorted().first { key in
                    guard let number = dictionary[key] as? NSNumber, !(number is Bool) else { return false }
                    return number.doubleValue.rounded() != number.doubleValue || abs(number.doubleValue) > 9e15
                }
            throw KithError(.invalidField, field: field, detail: error.fixedDetail)
        } catch let error as KithError {
            throw error
        } catch {
            throw KithError(.invalidField, detail: "The body does not have the expected shape.")
        }
        try value.validate()
        return value
    }
}

extension DecodingError {
    /// The field at fault, named only by what Kith itself defines: a top-level field of the operation and
    /// the positions in its arrays. A key the client made up (a dictionary key, which could be a phone
    /// number) is never echoed: the path stops at the field holding it.
    func fieldPath(within fields: Set<String>) -> String? {
        let path: [any CodingKey]
        switch self {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        @unknown default: return nil
        }
        guard let first = path.first, first.intValue == nil, fields.contains(first.stringValue) else { return nil }
        var text = first.stringValue
        for key in path.dropFirst() {
            // An array position (the decoder names it "Index N"); a numeric dictionary key is the client's.
            guard let position = key.intValue, key.stringValue == "Index \(position)" else { break }
            text += "[\(position)]"
        }
        return text
    }

    var fixedDetail: String {
        switch self {
        case .keyNotFound: "This field is required."
        case .typeMismatch: "This field has the wrong type."
        case .valueNotFound: "This field must not be null."
        case .dataCorrupted: "This field's value is not one of the accepted values."
        @unknown default: "This field is not valid."
        }
    }
}

/// Encodes a response value as JSON with a status.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var value: Value

    init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
        )
    }
}

/// Finds a name repeated within one object of a well-formed JSON text (RFC 8259 §4), comparing names as
/// decoded (`"a"` and `"\u0061"` are the same name).
enum JSONDuplicateKeys {
    /// The first repeated name and how deep its object is nested, arrays counted (1: the top level), if
    /// any. `bytes` must be well-formed JSON (checked before).
    static func first(in bytes: some RandomAccessCollection<UInt8>) -> (name: String, depth: Int)? {
        // Per open container: the names seen so far if it is an object (nil for an array), and whether
        // the next string in it is a name.
        var stack: [(names: Set<String>?, expectingName: Bool)] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch bytes[index] {
            case UInt8(ascii: "{"): stack.append(([], true))
            case UInt8(ascii: "["): stack.append((nil, false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
            case UInt8(ascii: ","): if stack.last?.names != nil { stack[stack.count - 1].expectingName = true }
            case UInt8(ascii: "\""):
                let end = endOfString(in: bytes, at: index)
                // Only names are decoded; values (thousands of numbers in an upload) are only skipped.
                if let top = stack.last, top.names != nil, top.expectingName {
                    let name = decoded(bytes[index..<end])
                    guard stack[stack.count - 1].names!.insert(name).inserted else { return (name, stack.count) }
                    stack[stack.count - 1].expectingName = false
                }
                index = end
                continue
            default: break
            }
            index = bytes.index(after: index)
        }
        return nil
    }

    /// The index after the closing quote of the string whose opening quote is at `start`.
    static func endOfString<Bytes: RandomAccessCollection<UInt8>>(in bytes: Bytes, at start: Bytes.Index) -> Bytes.Index
    {
        var index = bytes.index(after: start)
        while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\"") {
            index =
                bytes.index(index, offsetBy: bytes[index] == UInt8(ascii: "\\") ? 2 : 1, limitedBy: bytes.endIndex)
                ?? bytes.endIndex
        }
        return index < bytes.endIndex ? bytes.index(after: index) : index
    }

    /// The text of a JSON string literal, quotes included, as decoded: JSON's own decoder reads it.
    static func decoded(_ literal: some Collection<UInt8>) -> String {
        (try? JSONDecoder().decode(String.self, from: Data(literal))) ?? ""
    }
}
