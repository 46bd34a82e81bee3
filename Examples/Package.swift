// swift-tools-version:6.0
import PackageDescription

// Programs that use Tessera as any other package does, through its library product, so
// that only its public API is in reach: docs/library.md's classifier and README.md's
// segmenter. ExamplePackageTests builds and runs both.
let package = Package(
    name: "TesseraExamples",
    dependencies: [.package(name: "Tessera", path: "..")],
    targets: [
        .executableTarget(name: "classifier", dependencies: [.product(name: "Tessera", package: "Tessera")]),
        .executableTarget(name: "segmenter", dependencies: [.product(name: "Tessera", package: "Tessera")]),
    ]
)
