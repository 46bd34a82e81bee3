import ArgumentParser
import Foundation
import Tessera
import TesseraSegmentation

/// `tessera explain`: evidence, from real runs, for how encoder-decoders learn.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Measure that the encoder learns, and how filters differ from dense nodes.",
        subcommands: [ExplainEncoderCommand.self, ExplainFiltersCommand.self])
}

/// `tessera explain encoder`: end-to-end training versus a frozen encoder.
struct ExplainEncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Train twice from the same weights — end to end and with the encoder frozen — and compare.",
        discussion: """
            Prints, per block, the mean gradient norm and the relative weight change of both \
            runs, then both validation scores; writes encoder.json and encoder.svg to --out.
            """)

    @Option(help: "Training folder with images/ and masks/ (default: synthetic shapes).")
    var data: String?
    @Option(help: "Optimizer steps per run.")
    var steps = 300
    @Option(help: "Seed for weights, batches and data.")
    var seed: UInt64 = 0
    @Option(help: "Output folder.")
    var out = "runs/explain"
    @Option(help: "Classes of the synthetic shapes: 1 (shape or not) or 2–4 (which shape).")
    var classes = 1
    @Option(help: """
        How the synthetic shapes are drawn: outlined (the inside of a shape takes context to \
        recognise) or filled (its gray level alone tells, and a fixed random encoder does as well).
        """)
    var shapes: SyntheticShapes.Style = .outlined
    @Option(help: "U-Net width.")
    var width = 16
    @Option(help: "U-Net depth.")
    var depth = 4

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard (1...4).contains(classes) else { throw ValidationError("--classes must be 1 to 4, got \(classes)") }
        if let problem = UNetConfiguration(width: width, depth: depth).problem { throw ValidationError(problem) }
    }

    func run() throws {
        let (training, validation): (SegmentationDataset, SegmentationDataset)
        if let data {
            (training, validation) = try FolderDataset.load(URL(fileURLWithPath: data), classes: classes).split(validationFraction: 0.2, seed: seed)
        } else {
            training = SyntheticShapes.generate(count: 160, size: 128, classes: classes, style: shapes, seed: seed)
            validation = SyntheticShapes.generate(count: 20, size: 128, classes: classes, style: shapes, seed: seed &+ 1_000_003)
        }
        let experiment = EncoderExperiment(
            training: training, validation: validation,
            configuration: UNetConfiguration(inputChannels: training.channels, classes: classes, width: width, depth: depth),
            steps: steps, seed: seed)
        print("training the same U-Net (w\(width) d\(depth)) twice for \(steps) steps from the same weights on the same batches…")
        let (endToEnd, frozen) = experiment.run { run, step in
            if step % 50 == 0 { print("  \(run): step \(step)/\(steps)") }
        }
        var table = TextTable(["block", "part", "grad norm (end to end)", "weight change", "grad norm (frozen enc.)", "weight change"])
        for (a, b) in zip(endToEnd.blocks, frozen.blocks) {
            table.append([a.name, a.part, String(format: "%.4g", a.meanGradientNorm), String(format: "%.4f", a.relativeWeightChange),
                          String(format: "%.4g", b.meanGradientNorm), String(format: "%.4f", b.relativeWeightChange)])
        }
        print(table.rendered)
        print(String(format: "validation Dice (mean of the last 3 evaluations): end to end %.4f, frozen encoder %.4f (margin %+.4f)",
                     endToEnd.validationDice, frozen.validationDice, endToEnd.validationDice - frozen.validationDice))
        print(String(format: "validation loss: %.4f vs %.4f; training loss over the last fifth of the steps: %.4f vs %.4f",
                     endToEnd.validationLoss, frozen.validationLoss, endToEnd.finalTrainingLoss, frozen.finalTrainingLoss))
        print("validation Dice history: end to end " + endToEnd.validationDiceHistory.map { String(format: "%.3f", $0) }.joined(separator: " ")
              + "; frozen " + frozen.validationDiceHistory.map { String(format: "%.3f", $0) }.joined(separator: " "))
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(Data(EncoderExperiment.json(endToEnd: endToEnd, frozenEncoder: frozen).utf8), to: folder.appendingPathComponent("encoder.json"))
        try AtomicFile.write(Data(EncoderExperiment.svg(endToEnd: endToEnd, frozenEncoder: frozen).utf8), to: folder.appendingPathComponent("encoder.svg"))
        print("wrote \(out)/encoder.json and \(out)/encoder.svg")
    }
}

/// `tessera explain filters`: weight sharing, receptive fields and the learning rule, measured.
struct ExplainFiltersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filters",
        abstract: "Show first-layer filters; measure translation equivariance, receptive fields and the shared-weight update.")

    @Option(help: "A checkpoint (default: a U-Net trained briefly on synthetic shapes).")
    var model: String?
    @Option(help: "Output folder for filters.png.")
    var out = "runs/explain"

    func run() throws {
        let (trained, initial) = try models()
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let firstLayer = { (model: UNet) in model.inc.firstConvolution.weight.value }
        let image = FilterImage.grid(initial: firstLayer(initial), learned: firstLayer(trained))
        try PNGFile.write(image.pixels, width: image.width, height: image.height, channels: 1, to: folder.appendingPathComponent("filters.png"))
        print("first-layer 3×3 filters, initial (left) and learned (right): \(out)/filters.png")

        // Weight sharing: the same filter everywhere ⇒ shifting the input shifts the feature map.
        var generator = RandomGenerator(seed: 1)
        let x = Tensor.uniform([1, 1, 24, 24], using: &generator)
        let conv = trained.inc.firstConvolution
        let dense = Linear(inputFeatures: 24 * 24, outputFeatures: conv.weight.value.shape[0] * 24 * 24, generator: &generator)
        let denseLayer = { (input: Tensor) in dense(input.reshaped([1, 24 * 24])).reshaped([1, conv.weight.value.shape[0], 24, 24]) }
        let summary = ModelSummary(configuration: trained.configuration, inputSize: 24)
        print("\nweight sharing — shift the input 3 px right, compare with the shifted output (2 px from borders):")
        print(String(format: "  conv 3×3  (%ld weights): max error %.2g  (translation equivariant)",
                     conv.weight.value.count + (conv.bias?.value.count ?? 0), FilterAnalysis.equivarianceError(of: { conv($0) }, input: x, shift: 3, margin: 2)))
        print(String(format: "  dense     (%@ weights): max error %.2g  (no such structure)",
                     SummaryCommand.grouped(summary.layers[0].denseEquivalentParameters) as NSString,
                     FilterAnalysis.equivarianceError(of: denseLayer, input: x, shift: 3, margin: 2)))

        // Locality: which input columns reach the central output pixel of each encoder block.
        let size = 2 * ModelSummary(configuration: trained.configuration, inputSize: 512).layers
            .filter { $0.name.hasPrefix("down\(trained.configuration.depth).") }.last!.receptiveField + 32
        let side = (size + trained.configuration.sizeMultiple - 1) / trained.configuration.sizeMultiple * trained.configuration.sizeMultiple
        let computed = ModelSummary(configuration: trained.configuration, inputSize: side)
        print("\nreceptive field — input columns perturbed one at a time (\(side)² input, untrained weights):")
        var table = TextTable(["block", "computed (px)", "measured (px)"])
        for (name, measured) in FilterAnalysis.measuredReceptiveFields(of: initial, size: side) {
            let field = computed.layers.filter { $0.name.hasPrefix(name + ".") }.last!.receptiveField
            table.append([name, String(field), String(measured)])
        }
        print(table.rendered)

        // Same learning rule: the convolution is a dense layer with tied weights.
        let step = FilterAnalysis.convolutionVersusDenseStep()
        print(String(format: """

            same learning rule — one SGD step of a conv (2 filters, 6×6 input) and of its unrolled dense twin:
              outputs differ by %.2g; conv update vs dense update summed over tied entries: %.2g (the same rule);
              an untied dense update would move the weights %.2g away from any convolution.
            """, step.outputDifference, step.tiedUpdateDifference, step.untiedUpdateDifference))
    }

    /// The learned model and the same architecture at its initial weights.
    private func models() throws -> (UNet, UNet) {
        guard let model else {
            print("no --model: training a U-Net (w16 d4) for 80 steps on synthetic shapes…")
            var configuration = TrainingConfiguration()
            configuration.outputPath = out + "/filters-run"
            configuration.steps = 80
            configuration.validationInterval = 100
            let summary = try Trainer(configuration: configuration, overwrite: true).run()
            let trained = try Checkpoint.read(from: summary.runFolder.appendingPathComponent(Trainer.File.last)).model
            var generator = RandomGenerator(seed: configuration.seed)
            return (trained, UNet(trained.configuration, generator: &generator))
        }
        let url = URL(fileURLWithPath: model)
        let trained = try Checkpoint.read(from: url).model
        // The trainer seeds the initial weights with the run's seed (config.json beside the checkpoint).
        let configurationFile = url.deletingLastPathComponent().appendingPathComponent(Trainer.File.configuration)
        let seed = (try? JSONDecoder().decode(TrainingConfiguration.self, from: Data(contentsOf: configurationFile)))?.seed ?? 0
        var generator = RandomGenerator(seed: seed)
        return (trained, UNet(trained.configuration, generator: &generator))
    }
}

/// A gray image of 3×3 filters, enlarged, initial beside learned.
enum FilterImage {
    static func grid(initial: Tensor, learned: Tensor) -> (pixels: [UInt8], width: Int, height: Int) {
        let count = initial.shape[0], cell = 24, gap = 4
        let columns = 4, rows = (count + columns - 1) / columns
        let panelWidth = columns * (3 * cell + gap)
        let width = 2 * panelWidth + 3 * gap, height = rows * (3 * cell + gap) + gap
        var pixels = [UInt8](repeating: 255, count: width * height)
        for (panel, weights) in [initial, learned].enumerated() {
            let values = weights.scalars
            let scale = max(values.map(abs).max() ?? 1, 1e-12)
            for filter in 0..<count {
                let originX = panel * (panelWidth + gap) + gap + (filter % columns) * (3 * cell + gap)
                let originY = gap + (filter / columns) * (3 * cell + gap)
                for i in 0..<3 {
                    for j in 0..<3 {
                        // First input channel; 128 is zero, black negative, white positive.
                        let value = values[filter * (values.count / count) + i * 3 + j]
                        let shade = UInt8(max(0, min(255, 128 + 127 * value / scale)))
                        for y in 0..<cell { for x in 0..<cell { pixels[(originY + i * cell + y) * width + originX + j * cell + x] = shade } }
                    }
                }
            }
        }
        return (pixels, width, height)
    }
}
