import ArgumentParser
import Foundation
import Tessera
import TesseraSegmentation

/// `tessera synth`: write the built-in synthetic dataset as PNG folders.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write synthetic shapes as a dataset folder (images/ and masks/).")

    @Option(help: "Output folder.")
    var out: String
    @Option(help: "Number of images.")
    var count = 100
    @Option(help: "Side of the square images.")
    var size = 128
    @Option(help: "1 for binary masks, or 2–4 classes (background plus shape kinds).")
    var classes = 1
    @Option(help: "How the shapes are drawn: \(SyntheticShapes.Style.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shapes: SyntheticShapes.Style = .filled
    @Option(help: "Seed.")
    var seed: UInt64 = 0

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
        guard size >= 16 else { throw ValidationError("--size must be at least 16, got \(size)") }
        guard (1...4).contains(classes) else { throw ValidationError("--classes must be 1 to 4, got \(classes)") }
    }

    func run() throws {
        let dataset = SyntheticShapes.generate(count: count, size: size, classes: classes, style: shapes, seed: seed)
        let root = URL(fileURLWithPath: out)
        for folder in ["images", "masks"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        for sample in dataset.samples {
            let pixels = sample.image.scalars.map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
            try PNGFile.write(pixels, width: size, height: size, channels: 1, to: root.appendingPathComponent("images/\(sample.name)"))
            let mask = sample.labels.map { UInt8(dataset.mapping.value(of: $0)) }
            try PNGFile.write(mask, width: size, height: size, channels: 1, to: root.appendingPathComponent("masks/\(sample.name)"))
        }
        print("wrote \(count) images and masks (\(size)×\(size), \(classes == 1 ? "binary" : "\(classes) classes")) to \(out)")
    }
}
