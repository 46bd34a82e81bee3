import Foundation
import Tessera

/// Does the encoder learn? Trains the same U-Net twice from the same initial weights on
/// the same batches — end to end, and with the encoder frozen at its initial weights — and
/// measures, per block, the gradient norms during training and how far the weights moved.
public struct EncoderExperiment {
    /// One block's measurements in one run.
    public struct BlockResult: Codable, Equatable, Sendable {
        public let name: String
        /// `encoder` (inc, down1…downD, the last being the bottleneck) or `decoder` (up…, outc).
        public let part: String
        /// Mean over steps of the Euclidean norm of the block's weight gradients (0 when frozen).
        public let meanGradientNorm: Double
        /// `‖W_end − W_start‖ / ‖W_start‖` over the block's trainable weights.
        public let relativeWeightChange: Double

        enum CodingKeys: String, CodingKey {
            case name, part
            case meanGradientNorm = "mean_grad_norm", relativeWeightChange = "relative_weight_change"
        }
    }

    /// One training run's results.
    public struct RunResult: Codable, Equatable, Sendable {
        /// Validation Dice and loss averaged over the last three evaluations (single
        /// evaluations of a model in training swing by a few points).
        public let validationDice: Double
        public let validationLoss: Double
        /// Validation Dice at each evaluation, every sixth of the run.
        public let validationDiceHistory: [Double]
        /// Mean training loss over the last fifth of the steps.
        public let finalTrainingLoss: Double
        public let blocks: [BlockResult]
        /// Gradient norm of the encoder and of the decoder after every step.
        public let encoderGradientNorms: [Double]
        public let decoderGradientNorms: [Double]

        enum CodingKeys: String, CodingKey {
            case blocks
            case validationDice = "val_dice", validationLoss = "val_loss", validationDiceHistory = "val_dice_history"
            case finalTrainingLoss = "final_train_loss"
            case encoderGradientNorms = "encoder_grad_norms", decoderGradientNorms = "decoder_grad_norms"
        }
    }

    public let training: SegmentationDataset
    public let validation: SegmentationDataset
    public let configuration: UNetConfiguration
    public let steps: Int
    public let batchSize: Int
    public let seed: UInt64

    public init(training: SegmentationDataset, validation: SegmentationDataset, configuration: UNetConfiguration,
                steps: Int, batchSize: Int = 4, seed: UInt64 = 0) {
        require(steps >= 1 && batchSize >= 1, "EncoderExperiment: steps and batch size must be positive")
        self.training = training
        self.validation = validation
        self.configuration = configuration
        self.steps = steps
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Runs both trainings; `progress(run, step)` is called after each step.
    public func run(progress: (String, Int) -> Void = { _, _ in }) -> (endToEnd: RunResult, frozenEncoder: RunResult) {
        (train(freezingEncoder: false, progress: { progress("end to end", $0) }),
         train(freezingEncoder: true, progress: { progress("frozen encoder", $0) }))
    }

    private func train(freezingEncoder: Bool, progress: (Int) -> Void) -> RunResult {
        var generator = RandomGenerator(seed: seed)
        let model = UNet(configuration, generator: &generator)
        if freezingEncoder { for (_, block) in model.encoderBlocks { block.freeze() } }
        let blocks = model.encoderBlocks.map { ($0.0, $0.1, "encoder") } + model.decoderBlocks.map { ($0.0, $0.1, "decoder") }
        let initial = blocks.map { trainableWeights(of: $0.1) }
        let optimizer = Adam(learningRate: 1e-3)
        let loss = SegmentationLoss.standard(classes: configuration.classes)
        let side = min(128, training.smallestSize) / configuration.sizeMultiple * configuration.sizeMultiple
        let augmentation = Augmentation(cropSize: side, flipsAndRotations: true)
        var batches = RandomGenerator(seed: seed &+ 1)
        var normTotals = [Double](repeating: 0, count: blocks.count)
        var encoderNorms: [Double] = [], decoderNorms: [Double] = []
        var trainingLosses: [Double] = [], evaluations: [(dice: Double, loss: Double)] = []
        let evaluationInterval = max(1, steps / 6)
        // The learning rate decays to 0 along a cosine, so that the last evaluations see
        // settled weights and batch-norm statistics in both runs.
        var schedule = CosineSchedule(base: 1e-3, length: steps)
        for step in 1...steps {
            schedule.apply(to: optimizer, epoch: step - 1)
            let items = (0..<batchSize).map { _ in
                augmentation.apply(to: training.samples[Int(batches.next() % UInt64(training.samples.count))], using: &batches)
            }
            let batch = Batch(items)
            let (value, gradients) = valueAndGradient(of: model) { loss($0.logits(batch.images), batch) }
            trainingLosses.append(Double(value.scalar))
            var encoderSquares = 0.0, decoderSquares = 0.0
            for (index, (name, _, part)) in blocks.enumerated() {
                let squares = gradients.squaredNorm(under: name)
                normTotals[index] += squares.squareRoot()
                if part == "encoder" { encoderSquares += squares } else { decoderSquares += squares }
            }
            encoderNorms.append(encoderSquares.squareRoot())
            decoderNorms.append(decoderSquares.squareRoot())
            optimizer.update(model, gradients: gradients)
            if step % evaluationInterval == 0 || step == steps {
                // Batch-norm running averages trail weights that are still moving; refresh
                // them on training batches (no gradients) so that both runs are evaluated
                // with statistics of their current weights.
                var calibration = RandomGenerator(seed: seed &+ 2)
                for _ in 0..<20 {
                    let items = (0..<batchSize).map { _ in
                        augmentation.apply(to: training.samples[Int(calibration.next() % UInt64(training.samples.count))], using: &calibration)
                    }
                    _ = model.logits(Batch(items).images)
                }
                let (metrics, validationLoss) = Validation.evaluate(model, on: validation, loss: loss)
                evaluations.append((metrics.dice, validationLoss ?? 0))
            }
            progress(step)
        }
        let lastEvaluations = evaluations.suffix(3)
        let results = blocks.enumerated().map { index, block in
            let end = trainableWeights(of: block.1)
            return BlockResult(
                name: block.0, part: block.2, meanGradientNorm: normTotals[index] / Double(steps),
                relativeWeightChange: Self.distance(end, initial[index]) / max(Self.norm(initial[index]), 1e-30))
        }
        let tail = trainingLosses.suffix(max(1, steps / 5))
        return RunResult(
            validationDice: lastEvaluations.map(\.dice).reduce(0, +) / Double(lastEvaluations.count),
            validationLoss: lastEvaluations.map(\.loss).reduce(0, +) / Double(lastEvaluations.count),
            validationDiceHistory: evaluations.map(\.dice), finalTrainingLoss: tail.reduce(0, +) / Double(tail.count), blocks: results,
            encoderGradientNorms: encoderNorms, decoderGradientNorms: decoderNorms)
    }

    /// Copies of a block's learned weights (convolution and batch-norm γ, β), frozen or not.
    private func trainableWeights(of block: Module) -> [Tensor] {
        block.namedParameters().filter { !$0.1.isState }.map { $0.1.value.detached() }
    }

    static func norm(_ tensors: [Tensor]) -> Double {
        tensors.reduce(0) { total, tensor in total + tensor.scalars.reduce(0) { $0 + Double($1) * Double($1) } }.squareRoot()
    }

    static func distance(_ a: [Tensor], _ b: [Tensor]) -> Double {
        norm(zip(a, b).map { ($0 - $1).detached() })
    }

    /// The JSON document `tessera explain encoder` writes.
    public static func json(endToEnd: RunResult, frozenEncoder: RunResult) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Document: Encodable {
            let endToEnd: RunResult, frozenEncoder: RunResult
            enum CodingKeys: String, CodingKey { case endToEnd = "end_to_end", frozenEncoder = "frozen_encoder" }
        }
        return String(decoding: try! encoder.encode(Document(endToEnd: endToEnd, frozenEncoder: frozenEncoder)), as: UTF8.self)
    }

    /// `encoder.svg`: encoder and decoder gradient norms per step for both runs, and both
    /// runs' validation Dice.
    public static func svg(endToEnd: RunResult, frozenEncoder: RunResult) -> String {
        let norms = [endToEnd.encoderGradientNorms, endToEnd.decoderGradientNorms, frozenEncoder.decoderGradientNorms]
        let top = max(norms.flatMap { $0 }.max() ?? 1, 1e-9)
        return LineChart(
            xLabel: "training step (1–\(endToEnd.encoderGradientNorms.count))",
            yLabel: "gradient norm (0–\(String(format: "%.3g", top)))",
            series: [
                .init(name: "end to end: encoder", values: norms[0], top: top, colour: "#d62728"),
                .init(name: "end to end: decoder", values: norms[1], top: top, colour: "#1f77b4"),
                .init(name: "frozen encoder: decoder (its encoder gets none)", values: norms[2], top: top, colour: "#17becf"),
            ],
            note: String(format: "val Dice: end to end %.3f, frozen encoder %.3f", endToEnd.validationDice, frozenEncoder.validationDice)).svg
    }
}
