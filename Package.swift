// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Tessera",
    products: [
        // The engine: tensors, BLAS/LAPACK wrappers, kernels, serialization.
        .library(name: "Tessera", targets: ["Tessera"]),
        // The `tessera` command-line tool.
        .executable(name: "tessera", targets: ["TesseraCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Tensor, BLAS/LAPACK wrappers, im2col+GEMM kernels, safetensors.
        .target(name: "Tessera", dependencies: ["COpenBLAS"]),
        // `tessera` subcommands (self-check, benchmarks).
        .executableTarget(
            name: "TesseraCLI",
            dependencies: [
                "Tessera",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Implementation detail: Debian's OpenBLAS (cblas.h) and LAPACKE (lapacke.h).
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev", "pkg-config"])]
        ),
        .testTarget(
            name: "TesseraTests",
            dependencies: ["Tessera"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
