import Foundation
import Testing
import WeirService

/// The serving token comes from a file (flag, environment or config file, in that order of
/// precedence), is never shown, and is validated without being echoed; TLS needs both files.
struct ServingConfigurationTests {
    func resolver(_ files: [String: String]) -> ConfigurationResolver {
        ConfigurationResolver(readFile: { path in
            guard let s = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return s
        })
    }

    @Test func tokenFromAFileFlagBeatsEnvironmentBeatsConfigFile() throws {
        let r = resolver(["/flag": "from-flag\n", "/env": "from-env\n", "/cfg": "from-cfg\n",
                          "/weir.yaml": "serving_token_file: /cfg\ntls_certificate: /c.pem\ntls_private_key: /k.pem\n"])
        let env = ["WEIR_SERVING_TOKEN_FILE": "/env"]
        let all = try r.resolve(configFile: "/weir.yaml", environment: env, fileFlags: [.servingToken: "/flag"])
        #expect(all.configuration.servingToken == "from-flag")
        #expect(all.origins["serving_token"] == .secretFile(path: "/flag", namedBy: .flag("--serving-token-file")))
        #expect(try r.resolve(configFile: "/weir.yaml", environment: env).configuration.servingToken == "from-env")
        let file = try r.resolve(configFile: "/weir.yaml", environment: [:])
        #expect(file.configuration.servingToken == "from-cfg")
        #expect(file.configuration.tlsCertificate == "/c.pem" && file.configuration.tlsPrivateKey == "/k.pem")
        // Shown redacted, with where it came from.
        let lines = all.configuration.redactedLines(origins: all.origins)
        #expect(lines.contains { $0.hasPrefix("serving_token = <redacted>") })
        #expect(!lines.joined().contains("from-flag"))
        #expect(try r.resolve(environment: [:]).configuration.servingToken == nil)
    }

    @Test func badTokenOrHalfATLSPairIsRefusedWithoutTheSecret() throws {
        let r = resolver(["/t": "has space inside\n", "/missing-dir/none": ""])
        do {
            _ = try r.resolve(environment: [:], fileFlags: [.servingToken: "/t"])
            Issue.record("a token with spaces was accepted")
        } catch {
            #expect(error.description.contains("serving_token"))
            #expect(!error.description.contains("has space"))
        }
        #expect(throws: ConfigurationError.self) { try r.resolve(environment: [:], fileFlags: [.servingToken: "/nope"]) }
        do {
            _ = try r.resolve(environment: ["WEIR_TLS_CERTIFICATE": "/c.pem"])
            Issue.record("a certificate without a key was accepted")
        } catch {
            #expect(error.description.contains("tls_private_key"))
        }
    }
}
