/// A compact set of blind-index prefixes of registered phone numbers, used to decide without touching
/// the database whether an uploaded number can belong to anyone (CON-02, CON-03).
///
/// Each entry is the first 8 bytes of `HMAC-SHA256(indexKey, E.164)`: 8 bytes per registered user. A
/// hit is only a candidate, confirmed against the store by the full index; a miss ends the number's
/// life in memory, so numbers of non-users never reach a query, a log line or a table.
public struct PhonePrefixIndex: Sendable {
    private var sorted: [UInt64] = []
    private var recent: Set<UInt64> = []

    public init() {}

    /// Builds the index from prefixes in any order.
    public init(prefixes: [UInt64]) {
        sorted = prefixes.sorted()
    }

    public var count: Int { sorted.count + recent.count }

    /// Memory held by the entries, in bytes (capacity, not just count).
    public var bytesUsed: Int { sorted.capacity * 8 + recent.capacity * 9 }

    public func contains(_ prefix: UInt64) -> Bool {
        if recent.contains(prefix) { return true }
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) >> 1
            if sorted[middle] < prefix { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == prefix
    }

    public mutating func insert(_ prefix: UInt64) {
        guard !contains(prefix) else { return }
        recent.insert(prefix)
        if recent.count > 4096 { compact() }
    }

    /// Folds recent inserts into the sorted array.
    public mutating func compact() {
        guard !recent.isEmpty else { return }
        sorted.append(contentsOf: recent)
        sorted.sort()
        recent.removeAll(keepingCapacity: false)
    }

    /// The prefix of a 32-byte blind index.
    public static func prefix(of blindIndex: some Collection<UInt8>) -> UInt64 {
        var value: UInt64 = 0
        for byte in blindIndex.prefix(8) { value = value << 8 | UInt64(byte) }
        return value
    }

    /// The prefix of a blind index written as hex.
    public static func prefix(hex: String) -> UInt64? { UInt64(hex.prefix(16), radix: 16) }
}
