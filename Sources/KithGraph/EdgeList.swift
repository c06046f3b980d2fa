import Foundation

/// Reading undirected edge lists: two non-negative integer node IDs per line, separated by spaces, tabs or commas.
///
/// Blank lines and lines starting with `#` or `%` are skipped; anything after the second ID on a line (a weight or a
/// timestamp) is ignored.
public enum EdgeList {
    /// Why an edge list could not be read.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// A line did not start with two IDs.
        case malformedLine(lineNumber: Int)
        /// An ID does not fit a ``NodeID``.
        case nodeIDOutOfRange(lineNumber: Int)

        public var description: String {
            switch self {
            case .malformedLine(let lineNumber): "line \(lineNumber): expected two integer node IDs"
            case .nodeIDOutOfRange(let lineNumber): "line \(lineNumber): node ID does not fit in 32 bits"
            }
        }
    }

    /// Parses the edges in `text`, in file order, as written (no dedupe, self loops kept).
    /// - Throws: ``ParseError``.
    public static func parse(_ text: String) throws -> [(NodeID, NodeID)] {
        var text = text
        return try text.withUTF8 { try parse(bytes: $0) }
    }

    /// Reads and parses the edge list file at `path`.
    ///
    /// - Throws: A file-system error, or ``ParseError``.
    public static func load(path: String) throws -> [(NodeID, NodeID)] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.withUnsafeBytes { try parse(bytes: $0.bindMemory(to: UInt8.self)) }
    }

    /// Parses UTF-8 bytes; a hand-rolled scanner, so large files read at memory speed.
    static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) -> [(NodeID, NodeID)] {
        var edges: [(NodeID, NodeID)] = []
        var position = 0
        var lineNumber = 0
        let end = bytes.count

        func isSeparator(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: ",")
                || byte == UInt8(ascii: "\r")
        }
        func readID() throws(ParseError) -> NodeID {
            while position < end && isSeparator(bytes[position]) { position += 1 }
            var value: UInt64 = 0
            var digitCount = 0
            while position < end, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                value = value * 10 + UInt64(bytes[position] - UInt8(ascii: "0"))
                if value > UInt64(NodeID.max) { throw .nodeIDOutOfRange(lineNumber: lineNumber) }
                digitCount += 1
                position += 1
            }
            guard digitCount > 0 else { throw .malformedLine(lineNumber: lineNumber) }
            return NodeID(value)
        }

        while position < end {
            lineNumber += 1
            var lineEnd = position
            while lineEnd < end && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            var first = position
            while first < lineEnd && isSeparator(bytes[first]) { first += 1 }
            let isSkipped =
                first == lineEnd || bytes[first] == UInt8(ascii: "#") || bytes[first] == UInt8(ascii: "%")
            if !isSkipped {
                position = first
                let a = try readID()
                guard position < lineEnd, isSeparator(bytes[position]) else {
                    throw .malformedLine(lineNumber: lineNumber)
                }
                let b = try readID()
                guard position == lineEnd || isSeparator(bytes[position]) else {
                    throw .malformedLine(lineNumber: lineNumber)
                }
                edges.append((a, b))
            }
            position = lineEnd + 1
        }
        return edges
    }
}
