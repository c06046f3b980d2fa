/// A compact set of blind-index prefixes of the phone numbers of people who chose to be found by them,
/// used to decide without touching the database whether an uploaded number can match anyone (CON-02,
/// CON-03, CON-05).
///
/// Each entry is the first 8 bytes of `HMAC-SHA256(indexKey, E.164)`: 8 bytes per person. A hit is
/// only a candidate, confirmed against the store by the full index; a miss ends the number's life in
/// memory, so numbers of non-users (and of users who never chose to be discoverable) never reach a
/// query, a log line or a table.
///
/// The prefixes are uniformly distributed (they are HMAC outputs), so a directory over their top bits,
/// with about one slot per two entries (2 bytes per person), sends a lookup straight to a run of a few
/// entries: two cache misses per lookup instead of a binary search's twenty-odd at 10 million entries.
public struct PhonePrefixIndex: Sendable {
    private var sorted: [UInt64] = []
    /// `directory[b]..<directory[b + 1]` is the run of `sorted` whose top `directoryBits` bits are `b`.
    private var directory: [UInt32] = [0, 0]
    private var directoryBits = 0
    private var recent: Set<UInt64> = []

    public init() {}

    /// Builds the index from prefixes in any order.
    public init(prefixes: [UInt64]) {
        sorted = prefixes.sorted()
        // A person with two current grants is loaded twice: keep one entry.
        var kept = 0
        for position in sorted.indices where position == 0 || sorted[position] != sorted[kept - 1] {
            sorted[kept] = sorted[position]
            kept += 1
        }
        sorted.removeLast(sorted.count - kept)
        rebuildDirectory()
    }

    public var count: Int { sorted.count + recent.count }

    /// Memory held by the entries and the directory, in bytes (capacity, not just count).
    public var bytesUsed: Int { sorted.capacity * 8 + directory.capacity * 4 + recent.capacity * 9 }

    public func contains(_ prefix: UInt64) -> Bool {
        if !recent.isEmpty, recent.contains(prefix) { return true }
        let bucket = directoryBits == 0 ? 0 : Int(truncatingIfNeeded: prefix >> UInt64(64 - directoryBits))
        return sorted.withUnsafeBufferPointer { sorted in
            directory.withUnsafeBufferPointer { directory in
                var position = Int(directory[bucket])
                let end = Int(directory[bucket + 1])
                while position < end {
                    let entry = sorted[position]
                    if entry >= prefix { return entry == prefix }
                    position += 1
                }
                return false
            }
        }
    }

    public mutating func insert(_ prefix: UInt64) {
        guard !contains(prefix) else { return }
        recent.insert(prefix)
        if recent.count > 4096 { compact() }
    }

    /// Removes prefixes (of erased people, DSR-04): one pass over the sorted entries for the whole batch.
    public mutating func remove(_ prefixes: some Sequence<UInt64>) {
        let gone = Set(prefixes).filter { contains($0) }
        guard !gone.isEmpty else { return }
        recent.subtract(gone)
        let before = sorted.count
        sorted.removeAll { gone.contains($0) }
        if sorted.count != before { rebuildDirectory() }
    }

    /// Folds recent inserts into the sorted array (a merge from the back, in place) and rebuilds the
    /// directory.
    public mutating func compact() {
        guard !recent.isEmpty else { return }
        let incoming = recent.sorted()
        recent.removeAll(keepingCapacity: false)
        var write = sorted.count + incoming.count
        var left = sorted.count
        var right = incoming.count
        sorted.append(contentsOf: repeatElement(0, count: incoming.count))
        while right > 0 {
            write -= 1
            if left > 0, sorted[left - 1] > incoming[right - 1] {
                sorted[write] = sorted[left - 1]
                left -= 1
            } else {
                sorted[write] = incoming[right - 1]
                right -= 1
            }
        }
        rebuildDirectory()
    }

    private mutating func rebuildDirectory() {
        // About two entries per slot; no directory below 4 entries.
        directoryBits = max(0, Int.bitWidth - sorted.count.leadingZeroBitCount - 2)
        let slots = 1 << directoryBits
        var directory = [UInt32](repeating: 0, count: slots + 1)
        var position = 0
        for bucket in 0..<slots {
            directory[bucket] = UInt32(position)
            while position < sorted.count,
                directoryBits == 0 || Int(truncatingIfNeeded: sorted[position] >> UInt64(64 - directoryBits)) == bucket
            {
                position += 1
            }
        }
        directory[slots] = UInt32(sorted.count)
        self.directory = directory
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
