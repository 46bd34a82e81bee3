import ArgumentParser
import Foundation
import Tessera
import TesseraSegmentation

/// `tessera inspect`: validate safetensors files and list what they hold.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate .safetensors files (checkpoints, optimizer state) and list their tensors and metadata.")

    @Argument(help: "Files to check.")
    var files: [String]

    @Flag(help: "Print only errors.")
    var quiet = false

    func run() throws {
        for path in files {
            let file = try SafeTensors.read(from: URL(fileURLWithPath: path))
            let nonFinite = file.nonFiniteTensors
            if let first = nonFinite.first {
                let more = nonFinite.count > 1 ? " and \(nonFinite.count - 1) more tensor(s)" : ""
                throw CheckpointError(path: path, reason: "tensor \(first.name) holds \(first.count) NaN or infinite value(s)\(more); the weights are unusable")
            }
            guard !quiet else { continue }
            let count = file.tensors.values.reduce(0) { $0 + $1.count }
            print("\(path): valid, all values finite; \(file.tensors.count) F32 tensors (\(count) values), \(file.integerTensors.count) I64 tensors")
            for key in file.metadata.keys.sorted() {
                let value = file.metadata[key]!
                print("  \(key): \(value.count > 100 ? String(value.prefix(100)) + "…" : value)")
            }
        }
    }
}
