// swift-tools-version:6.1
import PackageDescription

// Tessera's benchmark suites (ordo-one/benchmark). Run from this folder:
//     swift package benchmark
// Kept out of the root package: the harness's malloc interposer slows every build there.
let package = Package(
    name: "TesseraBenchmarks",
    dependencies: [
        .package(name: "Tessera", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // sgemm throughput for square sizes and the U-Net's convolution GEMM shapes.
        .executableTarget(
            name: "GemmBenchmarks",
            dependencies: [
                .product(name: "Tessera", package: "Tessera"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/GemmBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
