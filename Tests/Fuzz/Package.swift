// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the readers of untrusted input: safetensors files, PNG images,
// checkpoint metadata and the command line. Built and run by scripts/fuzz.sh:
//     swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -use-ld=lld
// Kept out of the root package: every target here is an instrumented fuzzing executable.
let package = Package(
    name: "TesseraFuzz",
    dependencies: [
        .package(name: "Tessera", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "FuzzSafeTensors",
            dependencies: [.product(name: "Tessera", package: "Tessera")]),
        .executableTarget(
            name: "FuzzPNG",
            dependencies: [.product(name: "TesseraSegmentation", package: "Tessera")]),
        .executableTarget(
            name: "FuzzCheckpoint",
            dependencies: [.product(name: "TesseraSegmentation", package: "Tessera")]),
        .executableTarget(
            name: "FuzzOptions",
            dependencies: [.product(name: "TesseraCommands", package: "Tessera")]),
    ]
)
