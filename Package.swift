// swift-tools-version: 6.1
// Weir: a stream-processing engine for real-time ML features and drift.
//
// Dependency arrows point one way (see README "Architecture"):
//   CRdKafka <- WeirKafka                                  (Kafka, the only C)
//   WeirStats <- WeirCore <- WeirModel, WeirDrift           (pure Swift, no Kafka)
//   ... <- WeirTopology <- WeirRuntime <- WeirCLI (`weir`)
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
    ],
    targets: [
        // C shim over the system librdkafka (apt: librdkafka-dev).
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Kafka client, admin and embedded broker. The only module that touches C pointers.
        .target(
            name: "WeirKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Pure maths: sketches, two-sample tests, divergences, change detectors.
        .target(name: "WeirStats", swiftSettings: swiftSettings),
        // Schema, records, decoder, event time, windows, keyed state, aggregations, graph.
        .target(name: "WeirCore", dependencies: ["WeirStats"], swiftSettings: swiftSettings),
        // Online models, optimisers, prequential metrics.
        .target(name: "WeirModel", dependencies: ["WeirStats"], swiftSettings: swiftSettings),
        // References, drift monitors, data quality, the retraining gate.
        .target(name: "WeirDrift", dependencies: ["WeirCore", "WeirStats"], swiftSettings: swiftSettings),
        // Topology files: YAML -> validated spec (-> graph).
        .target(
            name: "WeirTopology",
            dependencies: ["WeirCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // Running topologies: the pipeline, file and Kafka sources and sinks.
        .target(
            name: "WeirRuntime",
            dependencies: ["WeirCore", "WeirModel", "WeirStats", "WeirDrift", "WeirTopology", "WeirKafka",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The `weir` command.
        .executableTarget(
            name: "WeirCLI",
            dependencies: [
                "WeirKafka", "WeirStats", "WeirCore", "WeirDrift", "WeirTopology", "WeirRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared test helpers (fixtures, approximate equality). Used by tests only.
        .target(name: "WeirTestSupport", swiftSettings: swiftSettings),

        // test targets
        .testTarget(name: "WeirKafkaTests", dependencies: ["WeirKafka", "WeirTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WeirStatsTests", dependencies: ["WeirStats", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "WeirCoreTests", dependencies: ["WeirCore", "WeirTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WeirModelTests", dependencies: ["WeirModel", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "WeirCLITests", dependencies: ["WeirCLI"], swiftSettings: swiftSettings),
        .testTarget(name: "WeirRuntimeTests", dependencies: ["WeirRuntime", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "WeirTopologyTests", dependencies: ["WeirTopology", "WeirCore"], exclude: ["Broken"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "WeirDriftTests", dependencies: ["WeirDrift", "WeirTestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    ]
)
