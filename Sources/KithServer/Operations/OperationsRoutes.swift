import Foundation
import Hummingbird
import KithStore
import NIOCore
import Prometheus

struct HealthResponse: Codable, Sendable {
    var status: String
    var store: String
}

/// `health`, `getMetrics`, `getOpenAPIDocument`.
struct OperationsRoutes {
    let services: KithServices

    func register(on api: API) {
        api.add(.get, "/health", "health") { _, _ in
            let store = services.store
            do {
                try await store.database.ping()
                return JSONResponse(HealthResponse(status: "ok", store: store.database.backend.rawValue))
            } catch {
                return JSONResponse(
                    HealthResponse(status: "unavailable", store: store.database.backend.rawValue),
                    status: .serviceUnavailable
                )
            }
        }

        api.add(.get, "/metrics", "getMetrics") { _, _ in
            // Read from the store at each scrape: every node reports the ranges blocked by any (GEN-08).
            if let blocked = try? await services.accounts.blockedCodeRanges() {
                services.metrics.makeGauge(descriptor: LimitMetrics.blockedRanges).set(Double(blocked))
            }
            if let overdue = try? await services.dataRequests.overdue() {
                services.metrics.makeGauge(descriptor: LimitMetrics.overdueRequests).set(Double(overdue))
            }
            if let reads = services.reads, let blocked = try? await reads.blockedReaders() {
                services.metrics.makeGauge(descriptor: LimitMetrics.blockedReaders).set(Double(blocked))
            }
            var buffer: [UInt8] = []
            services.metrics.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }

        api.add(.get, "/openapi.yaml", "getOpenAPIDocument") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml))
            )
        }
    }
}

/// The OpenAPI 3.1 document shipped with the server (`Sources/KithServer/Resources/openapi.yaml`).
public enum OpenAPIDocument {
    public static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "openapi: 3.1.0\n" }
        return text
    }()
}
