// swift-tools-version: 6.1
// Weir's benchmarks: a separate package so `swift test` at the top never builds them.
// Each executable prints its figures and the peers' figures measured in the same run;
// `benchmarks/run.sh` runs them and RESULTS.md records every run.
import PackageDescription

let package = Package(
    name: "WeirBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.0"),
    ],
    targets: [
        .target(
            name: "BenchSupport",
            dependencies: [.product(name: "MallocInterposerSwift", package: "malloc-interposer")]
        ),
        .executableTarget(name: "KafkaBench", dependencies: ["BenchSupport", .product(name: "WeirKafka", package: "main")]),
        .executableTarget(name: "CoreBench", dependencies: ["BenchSupport", .product(name: "WeirCore", package: "main")]),
        .executableTarget(name: "StatsBench", dependencies: ["BenchSupport", .product(name: "WeirStats", package: "main")]),
        .executableTarget(name: "ModelBench", dependencies: [
            "BenchSupport", .product(name: "WeirModel", package: "main"), .product(name: "WeirStats", package: "main"),
        ]),
        .executableTarget(
            name: "DriftBench",
            dependencies: ["BenchSupport", .product(name: "WeirDrift", package: "main"), .product(name: "WeirStats", package: "main")],
            exclude: ["peer_contract.py"]
        ),
        // Issue 7 end to end: drives `weir produce`/`weir run`/`weir replay`, kcat and the Python
        // peers as processes, so it links no Weir module (BenchSupport: the broker start-up).
        .executableTarget(name: "FraudBench", dependencies: ["BenchSupport"]),
        .executableTarget(name: "CheckpointBench", dependencies: [
            "BenchSupport", .product(name: "WeirRuntime", package: "main"), .product(name: "WeirTopology", package: "main"),
            .product(name: "WeirCore", package: "main"),
        ]),
        // Issue 16: the partitioned stages' costs in process (tasks, global stage, whole pipeline).
        .executableTarget(name: "ScaleBench", dependencies: [
            "BenchSupport", .product(name: "WeirRuntime", package: "main"), .product(name: "WeirTopology", package: "main"),
            .product(name: "WeirCore", package: "main"), .product(name: "WeirKafka", package: "main"),
        ]),
        // Issue 8 end-to-end latency: `weir run` as a process, a paced producer and an output
        // consumer in-process (one clock), so it links WeirKafka only.
        .executableTarget(name: "LatencyBench", dependencies: ["BenchSupport", .product(name: "WeirKafka", package: "main")]),
    ]
)
