import Foundation

/// Wall-clock time for the store. Tests move time by passing explicit `now` values where it matters.
public enum Clock {
    public static func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    public static func nowSeconds() -> Double { Date().timeIntervalSince1970 }
}
