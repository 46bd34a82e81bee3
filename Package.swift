// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Tessera",
    products: [
        // The engine: tensors, BLAS/LAPACK wrappers, kernels, serialization.
        .library(name: "Tessera", targets: ["Tessera"]),
        // U-Net, datasets, training, prediction and metrics for image segmentation.
        .library(name: "TesseraSegmentation", targets: ["TesseraSegmentation"]),
        // Data-parallel training over MPI: the communicator and the data-parallel wrapper.
        .library(name: "TesseraDistributed", targets: ["TesseraDistributed"]),
        // The `tessera` command-line tool.
        .executable(name: "tessera", targets: ["TesseraCLI"]),
        // The `tessera` command's parsing and subcommands, for programs that run or fuzz them.
        .library(name: "TesseraCommands", targets: ["TesseraCommands"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Tensor, BLAS/LAPACK wrappers, im2col+GEMM kernels, safetensors.
        .target(name: "Tessera", dependencies: ["COpenBLAS", "CCPUID"]),
        // MPI communicator, gradient buckets, data-parallel wrapper.
        .target(name: "TesseraDistributed", dependencies: ["Tessera", "CMPI"]),
        // U-Net, image datasets (PNG, JPEG, TIFF, GIF), augmentation, trainer (single or
        // data-parallel), predictor, metrics, checkpoints.
        .target(name: "TesseraSegmentation", dependencies: ["Tessera", "TesseraDistributed", "CPNG", "CTIFF", "CJPEG", "CGIF"]),
        // `tessera` subcommands: train, predict, evaluate, synth, bench, selfcheck.
        .target(
            name: "TesseraCommands",
            dependencies: [
                "Tessera",
                "TesseraSegmentation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The `tessera` executable: runs TesseraCommand.
        .executableTarget(name: "TesseraCLI", dependencies: ["TesseraCommands"]),
        // Implementation detail: Debian's OpenBLAS (cblas.h) and LAPACKE (lapacke.h).
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev", "pkg-config"])]
        ),
        // Implementation detail: Open MPI's C API (mpi.h), from Debian's libopenmpi-dev.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // Implementation detail: the CPUID and XGETBV instructions (header only).
        .systemLibrary(name: "CCPUID"),
        // Implementation detail: Debian's libpng (png.h), simplified API.
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // Implementation detail: Debian's libtiff (tiffio.h).
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        // Implementation detail: libjpeg-turbo's TurboJPEG API (turbojpeg.h).
        .systemLibrary(name: "CJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        // Implementation detail: Debian's giflib (gif_lib.h).
        .systemLibrary(name: "CGIF", providers: [.apt(["libgif-dev"])]),
        .testTarget(
            name: "TesseraTests",
            dependencies: ["Tessera", "TesseraSegmentation", "TesseraDistributed"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
