import Foundation
import Logging
import Testing
import WeirService

/// Flag > environment > file > default, per setting; secrets from files; errors that say where.
struct ConfigurationResolverTests {
    /// A resolver whose files live in a dictionary (path → contents).
    func resolver(_ files: [String: String]) -> ConfigurationResolver {
        ConfigurationResolver(readFile: { path in
            guard let s = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return s
        })
    }

    let file = """
        # weir run configuration
        metrics_port: 1111
        brokers: file-broker:9092
        log_format: json
        kafka:
          security.protocol: sasl_ssl
          sasl.username: from-file
          session.timeout.ms: "6000"
        """

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let r = resolver(["/etc/weir.yaml": file])
        // All three sources set metrics_port.
        let all = try r.resolve(configFile: "/etc/weir.yaml", environment: ["WEIR_METRICS_PORT": "2222"], flags: [.metricsPort: "3333"])
        #expect(all.configuration.metricsPort == 3333)
        #expect(all.origins["metrics_port"] == .flag("--metrics-port"))
        // No flag: the environment wins over the file.
        let env = try r.resolve(configFile: "/etc/weir.yaml", environment: ["WEIR_METRICS_PORT": "2222"])
        #expect(env.configuration.metricsPort == 2222)
        #expect(env.origins["metrics_port"] == .environment("WEIR_METRICS_PORT"))
        // Neither: the file, with its line.
        let fromFile = try r.resolve(configFile: "/etc/weir.yaml", environment: [:])
        #expect(fromFile.configuration.metricsPort == 1111)
        #expect(fromFile.origins["metrics_port"] == .file(path: "/etc/weir.yaml", line: 2))
        // Nothing: the default.
        let none = try r.resolve(environment: [:])
        #expect(none.configuration.metricsPort == RunConfiguration.defaultMetricsPort)
        #expect(none.configuration.logFormat == .text)
        #expect(none.configuration.logLevel == .info)
        #expect(none.configuration.brokers == nil)
    }

    @Test func precedenceIsPerSettingAndCoversKafkaProperties() throws {
        let r = resolver(["/c.yaml": file])
        let c = try r.resolve(configFile: "/c.yaml",
                              environment: ["WEIR_GROUP_ID": "env-group", "WEIR_KAFKA_SASL_USERNAME": "from-env", "WEIR_LOG_LEVEL": "debug"],
                              flags: [.logFormat: "text"], properties: ["session.timeout.ms=7000"])
        #expect(c.configuration.brokers == "file-broker:9092")  // file only
        #expect(c.configuration.groupID == "env-group")  // env only
        #expect(c.configuration.logLevel == .debug)
        #expect(c.configuration.logFormat == .text)  // flag over file's json
        #expect(c.configuration.kafkaProperties["security.protocol"] == "sasl_ssl")  // file
        #expect(c.configuration.kafkaProperties["sasl.username"] == "from-env")  // env over file
        #expect(c.configuration.kafkaProperties["session.timeout.ms"] == "7000")  // -X over file
        #expect(c.origins["kafka.session.timeout.ms"] == .flag("-X session.timeout.ms"))
        #expect(c.origins["kafka.security.protocol"] == .file(path: "/c.yaml", line: 6))
    }

    @Test func configFileFromWEIR_CONFIGUnlessFlagGiven() throws {
        let r = resolver(["/a.yaml": "brokers: a:1\n", "/b.yaml": "brokers: b:2\n"])
        #expect(try r.resolve(environment: ["WEIR_CONFIG": "/a.yaml"]).configuration.brokers == "a:1")
        #expect(try r.resolve(configFile: "/b.yaml", environment: ["WEIR_CONFIG": "/a.yaml"]).configuration.brokers == "b:2")
    }

    @Test func secretsFromFilesInEverySourceAndNeverInDumps() throws {
        let password = "s3cr3t-Pa55word"
        let r = resolver(["/run/secrets/kafka": password + "\n", "/c.yaml": "kafka:\n  sasl.password_file: /run/secrets/kafka\n"])
        for (env, props, config) in [
            (["WEIR_KAFKA_SASL_PASSWORD_FILE": "/run/secrets/kafka"], [String](), nil as String?),
            ([:], ["sasl.password_file=/run/secrets/kafka"], nil),
            ([:], [], "/c.yaml"),
            (["WEIR_KAFKA_SASL_PASSWORD": password], [], nil),
        ] {
            let c = try r.resolve(configFile: config, environment: env, properties: props)
            #expect(c.configuration.kafkaProperties["sasl.password"] == password)  // trailing newline dropped
            #expect(c.warnings.isEmpty, "\(c.warnings)")
            let dump = c.configuration.redactedLines(origins: c.origins).joined(separator: "\n")
            #expect(dump.contains("kafka.sasl.password = <redacted>"))
            #expect(!dump.contains(password))
        }
        let fromEnvFile = try r.resolve(environment: ["WEIR_KAFKA_SASL_PASSWORD_FILE": "/run/secrets/kafka"])
        #expect(fromEnvFile.origins["kafka.sasl.password"]
                == .secretFile(path: "/run/secrets/kafka", namedBy: .environment("WEIR_KAFKA_SASL_PASSWORD_FILE")))
    }

    @Test func secretOnTheCommandLineWorksButWarnsWithoutTheValue() throws {
        let c = try resolver([:]).resolve(environment: [:], properties: ["sasl.password=hunter2", "ssl.key.password=k3y"])
        #expect(c.configuration.kafkaProperties["sasl.password"] == "hunter2")
        #expect(c.warnings.count == 2)
        #expect(c.warnings.allSatisfy { !$0.contains("hunter2") && !$0.contains("k3y") })
        #expect(c.warnings.contains { $0.contains("WEIR_KAFKA_SASL_PASSWORD") })
    }

    @Test func badValuesNameTheSettingTheSourceAndTheValue() throws {
        let r = resolver(["/c.yaml": "brokers: ok:9092\nlog_format: xml\n"])
        func message(_ body: () throws -> ResolvedConfiguration) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        let env = message { try r.resolve(environment: ["WEIR_METRICS_PORT": "ninety"]) }
        #expect(env.contains("metrics_port") && env.contains("'ninety'") && env.contains("WEIR_METRICS_PORT"), "\(env)")
        let file = message { try r.resolve(configFile: "/c.yaml", environment: [:]) }
        #expect(file.contains("log_format") && file.contains("'xml'") && file.contains("/c.yaml:2"), "\(file)")
        let flag = message { try r.resolve(environment: [:], flags: [.logLevel: "loud"]) }
        #expect(flag.contains("'loud'") && flag.contains("--log-level"), "\(flag)")
        let port = message { try r.resolve(environment: [:], flags: [.metricsPort: "70000"]) }
        #expect(port.contains("'70000'") && port.contains("0-65535"), "\(port)")
        let brokers = message { try r.resolve(environment: ["WEIR_BROKERS": "kafka"]) }
        #expect(brokers.contains("HOST:PORT") && brokers.contains("WEIR_BROKERS"), "\(brokers)")
        let from = message { try r.resolve(environment: [:], flags: [.from: "middle"]) }
        #expect(from.contains("earliest or latest"), "\(from)")
        let malformed = message { try r.resolve(environment: [:], properties: ["sasl.password"]) }
        #expect(malformed.contains("name=value"), "\(malformed)")
        #expect(try r.resolve(environment: [:], flags: [.metricsPort: "off"]).configuration.metricsPort == nil)
        #expect(try r.resolve(environment: [:], flags: [.metricsPort: "0"]).configuration.metricsPort == 0)
        let url = message { try r.resolve(environment: ["WEIR_SERVING_URL": "10.0.0.7:9464"]) }
        #expect(url.contains("serving_url") && url.contains("WEIR_SERVING_URL") && url.contains("http://"), "\(url)")
        #expect(try r.resolve(environment: ["WEIR_SERVING_URL": "http://10.0.0.7:9464"]).configuration.servingURL == "http://10.0.0.7:9464/")
        #expect(try r.resolve(environment: [:], flags: [.servingURL: "https://weir-0.weir:9464/"]).configuration.servingURL == "https://weir-0.weir:9464/")
    }

    /// The serving batch size: 128 by default, 1...1024 from any source, anything else refused
    /// with the setting, its source and the range.
    @Test func servingBatchEventsIsBoundedAndNamedWhenWrong() throws {
        let r = ConfigurationResolver()
        #expect(try r.resolve(environment: [:]).configuration.servingBatchEvents == 128)
        #expect(try r.resolve(environment: ["WEIR_SERVING_BATCH_EVENTS": "1024"]).configuration.servingBatchEvents == 1024)
        #expect(try r.resolve(environment: ["WEIR_SERVING_BATCH_EVENTS": "1024"], flags: [.servingBatchEvents: "16"]).configuration.servingBatchEvents == 16)
        for bad in ["0", "1025", "-3", "many"] {
            var message = ""
            do { _ = try r.resolve(environment: [:], flags: [.servingBatchEvents: bad]) } catch { message = "\(error)" }
            #expect(message.contains("serving_batch_events") && message.contains("--serving-batch-events") && message.contains(bad) && message.contains("1-1024"), "\(message)")
        }
        #expect(try r.resolve(environment: [:]).configuration.redactedLines().contains("serving_batch_events = 128  (default)"))
    }

    @Test func fileProblemsSayWhereWithoutQuotingSecrets() throws {
        let r = resolver([
            "/typo.yaml": "brokers: a:1\nmetrics_prot: 9\n",
            "/broken.yaml": "kafka:\n  sasl.password: \"hunter2\n  other: [\n",
            "/list.yaml": "brokers: [a:1, b:2]\n",
        ])
        func message(_ body: () throws -> ResolvedConfiguration) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        let typo = message { try r.resolve(configFile: "/typo.yaml", environment: [:]) }
        #expect(typo.contains("metrics_prot") && typo.contains("/typo.yaml:2") && typo.contains("metrics_port"), "\(typo)")
        let broken = message { try r.resolve(configFile: "/broken.yaml", environment: [:]) }
        #expect(broken.hasPrefix("/broken.yaml:") && !broken.contains("hunter2"), "\(broken)")
        let list = message { try r.resolve(configFile: "/list.yaml", environment: [:]) }
        #expect(list.contains("/list.yaml:1") && list.contains("single value"), "\(list)")
        let missing = message { try r.resolve(environment: ["WEIR_KAFKA_SASL_PASSWORD_FILE": "/nope"]) }
        #expect(missing.contains("/nope") && missing.contains("WEIR_KAFKA_SASL_PASSWORD_FILE"), "\(missing)")
        let noConfig = message { try r.resolve(configFile: "/absent.yaml", environment: [:]) }
        #expect(noConfig.contains("/absent.yaml") && noConfig.contains("--config"), "\(noConfig)")
    }

    @Test func unknownWeirVariablesGiveAWarning() throws {
        let c = try resolver([:]).resolve(environment: ["WEIR_METRIC_PORT": "1", "WEIR_BENCH_N": "5", "HOME": "/root"])
        #expect(c.warnings == ["ignoring unknown environment variable WEIR_METRIC_PORT"])
    }

    @Test func environmentNamesForProperties() {
        #expect(ConfigurationResolver.environmentName(ofProperty: "sasl.password") == "WEIR_KAFKA_SASL_PASSWORD")
        #expect(ConfigKey.metricsPort.environmentName == "WEIR_METRICS_PORT")
        #expect(ConfigKey.groupID.flagName == "--group-id")
        for secret in ["sasl.password", "ssl.key.password", "ssl.key.pem", "ssl_key", "sasl.oauthbearer.client.secret", "ssl.keystore.password"] {
            #expect(SecretProperties.isSecret(secret), "\(secret)")
        }
        for plain in ["sasl.username", "security.protocol", "ssl.ca.location", "bootstrap.servers"] {
            #expect(!SecretProperties.isSecret(plain), "\(plain)")
        }
    }
}
