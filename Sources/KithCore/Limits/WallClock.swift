import Foundation
import Synchronization

/// Where Kith reads the time from: the system clock, or a clock a test moves by hand.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Int64

    public init(_ read: @escaping @Sendable () -> Int64) { self.read = read }

    /// Milliseconds since 1970.
    public var nowMillis: Int64 { read() }
    public var nowSeconds: Double { Double(read()) / 1000 }

    public static let system = WallClock { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// A clock that stands still until ``ManualClock/advance(seconds:)`` is called.
    public static func manual(_ clock: ManualClock) -> WallClock { WallClock { clock.millis } }
}

/// A clock for tests.
public final class ManualClock: Sendable {
    private let value: Mutex<Int64>

    public init(millis: Int64 = 1_800_000_000_000) { value = Mutex(millis) }

    public var millis: Int64 { value.withLock { $0 } }

    public func advance(seconds: Double) {
        value.withLock { $0 += Int64(seconds * 1000) }
    }
}
