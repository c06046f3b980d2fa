import KithCore
import Testing

@Suite("Token buckets")
struct RateLimitTests {
    @Test("a bucket allows its burst, then answers with the seconds to wait")
    func burstThenWait() throws {
        let limit = RateLimit.perHour(5, burst: 3)
        var tokens: Double? = nil
        var updated: Double? = nil
        for _ in 0..<3 {
            tokens = try limit.take(cost: 1, tokens: tokens, updatedAt: updated, now: 1000).get()
            updated = 1000
        }
        #expect(throws: RateLimit.RetryAfter(seconds: 720)) {
            try limit.take(cost: 1, tokens: tokens, updatedAt: updated, now: 1000).get()
        }
        #expect(throws: Never.self) { try limit.take(cost: 1, tokens: tokens, updatedAt: updated, now: 1720).get() }
    }
}
