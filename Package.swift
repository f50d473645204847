// swift-tools-version: 6.1
// Weir: a stream-processing engine for real-time ML features and drift.
//
// Dependency arrows point one way (see README "Architecture"); each target declares exactly the
// modules its files import:
//   CRdKafka <- WeirKafka                  (only WeirKafka sees librdkafka's C API and pointers)
//   WeirJSON <- WeirModel, WeirDrift, WeirRuntime, WeirService, WeirCLI
//                                          (the one JSON writer, no dependencies: the lowest layer
//                                           every module that writes records, logs or commands imports)
//   WeirStats <- WeirCore, WeirModel, WeirDrift
//                                          (no Kafka; like the layers above they use Swift's unsafe
//                                           buffers and libc where speed needs them; WeirCore also
//                                           imports the header-only CWeirPrefetch hint)
//   WeirCore <- WeirTopology; all of these and WeirKafka <- WeirRuntime <- WeirService
//   WeirRuntime, WeirService, WeirTopology, WeirDrift, WeirKafka, WeirJSON <- WeirCLI (`weir`)
// WeirRuntime records metrics through the swift-metrics API only; WeirService (configuration,
// log handlers, the HTTP endpoint) is the only module with SwiftNIO (via Hummingbird).
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Weir",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "weir", targets: ["WeirCLI"]),
        .library(name: "WeirKafka", targets: ["WeirKafka"]),
        .library(name: "WeirJSON", targets: ["WeirJSON"]),
        .library(name: "WeirStats", targets: ["WeirStats"]),
        .library(name: "WeirCore", targets: ["WeirCore"]),
        .library(name: "WeirModel", targets: ["WeirModel"]),
        .library(name: "WeirDrift", targets: ["WeirDrift"]),
        .library(name: "WeirTopology", targets: ["WeirTopology"]),
        .library(name: "WeirRuntime", targets: ["WeirRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // C shim over the system librdkafka (apt: librdkafka-dev).
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Kafka client, admin and embedded broker. The only module that sees librdkafka's C API.
        .target(
            name: "WeirKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The one JSON writer (records, log lines, commands): bytes into a reused buffer, one rule
        // for numbers and escaping. No dependencies, so every layer that writes JSON can import it.
        .target(name: "WeirJSON", swiftSettings: swiftSettings),
        // Pure maths: sketches, two-sample tests, divergences, change detectors.
        .target(name: "WeirStats", swiftSettings: swiftSettings),
        // Header-only C: a software prefetch hint for WeirCore's batch loop (Swift has none).
        .target(name: "CWeirPrefetch"),
        // Schema, records, decoder, event time, windows, keyed state, aggregations, graph.
        .target(name: "WeirCore", dependencies: ["WeirStats", "CWeirPrefetch"], swiftSettings: swiftSettings),
        // Online models, optimisers, prequential metrics.
        .target(name: "WeirModel", dependencies: ["WeirStats", "WeirJSON"], swiftSettings: swiftSettings),
        // References, drift monitors, data quality, the retraining gate.
        .target(name: "WeirDrift", dependencies: ["WeirStats", "WeirJSON"], swiftSettings: swiftSettings),
        // Topology files: YAML -> validated spec (-> graph).
        .target(
            name: "WeirTopology",
            dependencies: ["WeirCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Running topologies: the pipeline, file and Kafka sources and sinks.
        .target(
            name: "WeirRuntime",
            dependencies: ["WeirCore", "WeirModel", "WeirStats", "WeirDrift", "WeirTopology", "WeirKafka", "WeirJSON",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        // Operating `weir run`: configuration (flags > WEIR_* env > file), log handlers, and the
        // HTTP endpoint (/metrics in Prometheus text, /healthz, /readyz); the drift dashboard
        // (`weir dashboard`: sink topics read through WeirKafka, page + JSON API). The only module with NIO.
        .target(
            name: "WeirService",
            dependencies: ["WeirRuntime", "WeirKafka", "WeirJSON",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTLS", package: "hummingbird"),
                           .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The `weir` command. On Linux it runs on jemalloc (apt: libjemalloc-dev): librdkafka's
        // fetch thread allocates every message and the processing thread frees it, which glibc's
        // per-thread arenas serve with a lock per free; jemalloc made `weir run` ~12% faster on
        // the contract workload (benchmarks/RESULTS.md, 2026-11-23 21:30 UTC).
        .executableTarget(
            name: "WeirCLI",
            dependencies: [
                "WeirKafka", "WeirDrift", "WeirTopology", "WeirRuntime", "WeirService", "WeirJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        // Shared test helpers (seeded generator, approximate equality). Used by tests only.
        .target(name: "WeirTestSupport", dependencies: ["WeirStats"], swiftSettings: swiftSettings),

        // test targets
        .testTarget(name: "WeirJSONTests", dependencies: ["WeirJSON", "WeirTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WeirKafkaTests", dependencies: ["WeirKafka", "WeirTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WeirStatsTests", dependencies: ["WeirStats", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "WeirCoreTests", dependencies: ["WeirCore", "WeirStats", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "WeirModelTests", dependencies: ["WeirModel", "WeirStats", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        // WeirCLI: imported by no test, declared so that the `weir` binary the tests run is built.
        .testTarget(name: "WeirCLITests", dependencies: ["WeirCLI", "WeirTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WeirServiceTests", dependencies: ["WeirService", "WeirRuntime", "WeirTopology", "WeirCore", "WeirTestSupport",
                                                             .product(name: "Logging", package: "swift-log"),
                                                             .product(name: "Metrics", package: "swift-metrics"),
                                                             .product(name: "Prometheus", package: "swift-prometheus")],
                    swiftSettings: swiftSettings),
        .testTarget(name: "WeirRuntimeTests", dependencies: ["WeirRuntime", "WeirTopology", "WeirCore", "WeirStats", "WeirKafka", "WeirDrift", "WeirModel",
                                                             "WeirTestSupport", .product(name: "Logging", package: "swift-log"),
                                                             .product(name: "MetricsTestKit", package: "swift-metrics")],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "WeirTopologyTests", dependencies: ["WeirTopology", "WeirCore"], exclude: ["Broken"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "WeirTestSupportTests", dependencies: ["WeirTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WeirDriftTests", dependencies: ["WeirDrift", "WeirStats", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    ]
)
