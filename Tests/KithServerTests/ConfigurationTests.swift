import Configuration
import KithServer
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test("command-line values override the defaults, typed as each key is read")
    func flagsOverride() async throws {
        let reader = try await KithConfiguration.reader(
            overrides: ["kith.port": .int(18_555), "kith.host": .string("0.0.0.0"), "kith.key.file": .string("/k")]
        )
        let configuration = try KithConfiguration(reader: reader)
        #expect(configuration.port == 18_555, "kith serve --port was ignored for the default")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.keyFile == "/k")
    }
}
