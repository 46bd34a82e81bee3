import ArgumentParser
import Foundation
import Tessera
import TesseraSegmentation

/// `tessera summary`: the U-Net layer by layer, with receptive fields and what dense
/// layers between the same tensors would cost.
struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Per-layer shapes, parameters, receptive fields and dense-layer equivalents of a U-Net.",
        discussion: """
            A filter sees a local patch (its receptive field grows layer by layer) and shares \
            its weights across the whole image; a dense layer's node sees every input value \
            with weights of its own. The last columns show how many weights a dense layer with \
            the same input and output tensors would need, and the ratio.
            """)

    @Option(help: "A checkpoint whose model to describe (instead of the options below).")
    var model: String?
    @Option(help: "Channels of the first level.")
    var width = 16
    @Option(help: "Number of down-sampling steps.")
    var depth = 4
    @Option(help: "Input channels.")
    var inChannels = 1
    @Option(help: "Output classes (1 for binary).")
    var classes = 1
    @Flag(help: "Bilinear up-sampling.")
    var bilinear = false
    @Option(help: "Input height and width.")
    var size = 256

    func validate() throws {
        if let problem = UNetConfiguration(inputChannels: inChannels, classes: classes, width: width, depth: depth, bilinear: bilinear).problem {
            throw ValidationError(problem)
        }
        guard size >= 1 << depth && size % (1 << depth) == 0 else {
            throw ValidationError("--size \(size) must be a positive multiple of 2^depth = \(1 << depth)")
        }
    }

    func run() throws {
        let configuration = try model.map { try Checkpoint.read(from: URL(fileURLWithPath: $0)).model.configuration }
            ?? UNetConfiguration(inputChannels: inChannels, classes: classes, width: width, depth: depth, bilinear: bilinear)
        let summary = ModelSummary(configuration: configuration, inputSize: size)
        print("U-Net w\(configuration.width) d\(configuration.depth)\(configuration.bilinear ? " bilinear" : ""), input \(configuration.inputChannels)×\(size)×\(size)")
        var table = TextTable(["layer", "kind", "output", "params", "RF (px)", "dense-layer params", "dense/conv"])
        for layer in summary.layers {
            let ratio = layer.parameters > 0 ? String(format: "%.3g×", Double(layer.denseEquivalentParameters) / Double(layer.parameters)) : "—"
            table.append([
                layer.name, layer.kind, layer.outputShape.map(String.init).joined(separator: "×"), Self.grouped(layer.parameters),
                String(layer.receptiveField), Self.grouped(layer.denseEquivalentParameters), ratio,
            ])
        }
        print(table.rendered)
        print(String(
            format: "total: %@ parameters (batch norm included), %@ MACs per image, %.1f MB of activations per image, output receptive field %ld px",
            Self.grouped(summary.totalParameters) as NSString, Self.grouped(summary.multiplyAccumulates) as NSString,
            Double(summary.activationBytes) / 1e6, summary.receptiveField))
    }

    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        return digits.enumerated().map { index, digit in
            (index > 0 && (digits.count - index) % 3 == 0 ? "," : "") + String(digit)
        }.joined()
    }
}
