import Dispatch
import Foundation
import Tessera

/// Trains a U-Net on a dataset folder (or the synthetic shapes), validating every epoch
/// and keeping the run folder up to date: `config.json`, `metrics.csv`, `curves.svg`,
/// `last.safetensors` and `best.safetensors` with the optimizer state beside them. Every
/// file is replaced atomically, so a killed run loses at most the epoch in progress, and
/// ``init(configuration:resume:overwrite:progress:)`` with `resume` continues it exactly.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let runFolder: URL
    private let resume: Bool
    private let overwrite: Bool
    private let progress: (TrainingEvent) -> Void

    /// A run folder belongs to one run: a second process training into it is refused (a
    /// lock held for the whole run), and so is a new run into a folder that holds one,
    /// unless `overwrite`; even then nothing of the old run is replaced before the new
    /// run's first checkpoint.
    ///
    /// - Parameters:
    ///   - resume: continue the run in `configuration.outputPath` from its
    ///     `last.safetensors` (its `config.json` must match `configuration`).
    ///   - overwrite: start a new run in a folder that holds one.
    ///   - progress: receives events as training goes.
    public init(
        configuration: TrainingConfiguration, resume: Bool = false, overwrite: Bool = false,
        progress: @escaping (TrainingEvent) -> Void = { _ in }
    ) throws {
        if let problem = configuration.problem { throw TrainingError(problem) }
        self.configuration = configuration
        self.runFolder = URL(fileURLWithPath: configuration.outputPath)
        self.resume = resume
        self.overwrite = overwrite
        self.progress = progress
    }

    /// File names inside the run folder.
    public enum File {
        public static let configuration = "config.json"
        public static let metrics = "metrics.csv"
        public static let curves = "curves.svg"
        public static let last = "last.safetensors"
        public static let lastOptimizer = "last.optimizer.safetensors"
        /// The optimizer state of the checkpoint before, kept until `last.safetensors` has
        /// moved on, so that a kill between the two writes never pairs mismatched states.
        public static let previousOptimizer = "previous.optimizer.safetensors"
        public static let best = "best.safetensors"
    }

    /// Runs training to the end (epochs, steps or time limit) and returns the summary.
    public func run() throws -> TrainingSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        Threads.count = configuration.threads ?? CoreBudget.current.threads
        progress(.started(MachineReport.summary))

        let (training, validation) = try loadData()
        let augmentation = try makeAugmentation(for: training)
        var generator = RandomGenerator(seed: configuration.seed)
        let modelConfiguration = UNetConfiguration(
            inputChannels: training.channels, classes: configuration.classes, width: configuration.width,
            depth: configuration.depth, bilinear: configuration.bilinear)
        let model = UNet(modelConfiguration, generator: &generator)
        generator = RandomGenerator(seed: configuration.seed &+ 1)
        let optimizer = makeOptimizer()
        var plateau = PlateauSchedule(goal: .maximize, factor: 0.5, patience: 5)
        var records: [EpochRecord] = []
        var (epoch, step, bestDice) = (0, 0, -1.0)
        var configurationWritten = false

        try createRunFolder()
        let lock = try RunLock(folder: runFolder)
        defer { withExtendedLifetime(lock) {} }
        if !resume && !overwrite && FileManager.default.fileExists(atPath: runFolder.appendingPathComponent(File.last).path) {
            throw TrainingError(
                "\(runFolder.path) already holds a training run; pass --resume to continue it, --overwrite to replace it, or another --out")
        }
        removeStaleTemporaryFiles()
        if resume {
            let checkpoint = try Checkpoint.read(from: runFolder.appendingPathComponent(File.last))
            guard checkpoint.model.configuration == modelConfiguration else {
                throw TrainingError("\(runFolder.path)/\(File.last) holds \(checkpoint.model.configuration), but the run's configuration builds \(modelConfiguration)")
            }
            try model.load(checkpoint.model.stateDictionary(), source: File.last)
            let optimizerFile = try optimizerState(forEpoch: checkpoint.epoch)
            try optimizer.load(optimizerFile, source: runFolder.path)
            if let state = optimizerFile.metadata["plateau"], let decoded = try? JSONDecoder().decode(PlateauSchedule.self, from: Data(state.utf8)) {
                plateau = decoded
            }
            guard let words = checkpoint.randomState else { throw TrainingError("\(File.last) has no generator state to resume from") }
            generator.state = (words[0], words[1], words[2], words[3])
            (epoch, step, bestDice) = (checkpoint.epoch, checkpoint.step, checkpoint.bestDice)
            records = try readRecords().filter { $0.epoch <= epoch }
        } else if let initPath = configuration.initPath {
            let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: initPath))
            guard checkpoint.model.configuration == modelConfiguration else {
                throw TrainingError("\(initPath) holds a model \(checkpoint.model.configuration), but this run builds \(modelConfiguration)")
            }
            try model.load(checkpoint.model.stateDictionary(), source: initPath)
        }
        if configuration.freezeEncoder {
            for (_, block) in model.encoderBlocks { block.freeze() }
        }

        let stepsPerEpoch = (training.samples.count + configuration.batchSize - 1) / configuration.batchSize
        let totalSteps = configuration.steps ?? configuration.epochs * stepsPerEpoch
        let totalEpochs = (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch
        let timeLimit = configuration.timeLimitMinutes.map { $0 * 60 }
        let loss = configuration.resolvedLoss
        let blocks = model.encoderBlocks.map { ($0.0, "encoder") } + model.decoderBlocks.map { ($0.0, "decoder") }
        progress(.started(
            "training U-Net w\(configuration.width) d\(configuration.depth) (\(model.trainableParameterCount) trainable weights) on "
                + "\(training.samples.count) images (\(try configuration.trainingSource().map(String.init(describing:)) ?? "synthetic shapes")), validating on \(validation.samples.count); "
                + "\(totalSteps) steps of batch \(configuration.batchSize)" + (augmentation.cropSize.map { ", crops \($0)²" } ?? "")
                + ", \(Threads.count) threads"))

        var stopReason = "finished \(totalEpochs) epochs"
        var stepTimes: [Double] = []
        // Sums since the last validation: training loss and per-block gradient norms.
        var lossTotal = 0.0, lossCount = 0
        var normTotals = [String: Double]()
        while epoch < totalEpochs && step < totalSteps {
            epoch += 1
            if configuration.schedule == .cosine {
                CosineSchedule(base: configuration.learningRate, length: totalEpochs).apply(to: optimizer, epoch: epoch - 1)
            }
            let epochRate = optimizer.learningRate
            var order = Array(training.samples.indices)
            if configuration.shuffle { order.shuffle(using: &generator) }
            var stepInEpoch = 0
            var timedOut = false
            for batchStart in stride(from: 0, to: order.count, by: configuration.batchSize) {
                guard step < totalSteps else { break }
                let stepStart = elapsed()
                let items = order[batchStart..<min(batchStart + configuration.batchSize, order.count)].map {
                    augmentation.apply(to: training.samples[$0], using: &generator)
                }
                let batch = Batch(items)
                var logits = Tensor.zeros([1])
                let (value, gradients) = valueAndGradient(of: model) { model in
                    logits = model.logits(batch.images)
                    return loss(logits, batch)
                }
                step += 1
                let lossValue = Double(value.scalar)
                let gradientNorm = gradients.globalNorm
                guard lossValue.isFinite, gradientNorm.isFinite else {
                    throw TrainingError(
                        "step \(step) (epoch \(epoch)): the \(lossValue.isFinite ? "gradient" : "loss") became \(lossValue.isFinite ? gradientNorm : Float(lossValue)); "
                            + "stopped, \(records.isEmpty ? "no checkpoint of this run was written" : "\(File.last) keeps epoch \(records.last!.epoch)")"
                            + " (try a lower --lr)", isBadInput: false)
                }
                for (name, _) in blocks {
                    normTotals[name, default: 0] += gradients.squaredNorm(under: name).squareRoot()
                }
                optimizer.update(model, gradients: gradients)
                lossTotal += lossValue
                lossCount += 1
                stepInEpoch += 1

                var batchMetrics = SegmentationMetrics(labelCount: training.mapping.labelCount)
                batchMetrics.add(predicted: SegmentationOutput.labels(logits: logits.detached()), truth: batch.labels)
                stepTimes.append(elapsed() - stepStart)
                let recent = stepTimes.suffix(20).reduce(0, +) / Double(min(stepTimes.count, 20))
                var remaining = Double(totalSteps - step) * recent
                if let timeLimit { remaining = min(remaining, max(0, timeLimit - elapsed())) }
                progress(.step(StepProgress(
                    epoch: epoch, stepInEpoch: stepInEpoch, stepsPerEpoch: stepsPerEpoch, step: step, loss: lossValue,
                    dice: batchMetrics.dice, imagesPerSecond: Double(items.count) / max(recent, 1e-9), secondsRemaining: remaining)))
                if let timeLimit, elapsed() >= timeLimit {
                    timedOut = true
                    break
                }
            }

            let isLastEpoch = epoch == totalEpochs || step >= totalSteps || timedOut
            guard epoch % configuration.validationInterval == 0 || isLastEpoch else { continue }
            let (metrics, validationLoss) = Validation.evaluate(model, on: validation, loss: loss)
            let encoder = (model.encoderBlocks.map { normTotals[$0.0] ?? 0 }.map { $0 * $0 }.reduce(0, +)).squareRoot()
            let decoder = (model.decoderBlocks.map { normTotals[$0.0] ?? 0 }.map { $0 * $0 }.reduce(0, +)).squareRoot()
            let count = Double(max(lossCount, 1))
            let record = EpochRecord(
                epoch: epoch, step: step, seconds: elapsed(), learningRate: epochRate,
                trainLoss: lossTotal / count, validationLoss: validationLoss ?? 0, validationDice: metrics.dice,
                validationIoU: metrics.iou, validationAccuracy: metrics.pixelAccuracy,
                gradientNorms: [("encoder", encoder / count), ("decoder", decoder / count)] + blocks.map { ($0.0, (normTotals[$0.0] ?? 0) / count) },
                classDice: training.mapping.isBinary ? [] : metrics.classes.dropFirst().map(\.dice))
            records.append(record)
            (lossTotal, lossCount, normTotals) = (0, 0, [:])
            if configuration.schedule == .plateau { plateau.step(metric: Float(metrics.dice), optimizer: optimizer) }

            let improved = metrics.dice > bestDice
            if improved { bestDice = metrics.dice }
            let words = generator.state
            let checkpoint = Checkpoint(
                model: model, mapping: training.mapping, epoch: epoch, step: step, bestDice: bestDice,
                randomState: [words.0, words.1, words.2, words.3])
            var optimizerState = optimizer.stateDictionary()
            optimizerState.metadata["plateau"] = String(decoding: try JSONEncoder().encode(plateau), as: UTF8.self)
            optimizerState.metadata["epoch"] = String(epoch)
            // The configuration goes in with the first checkpoint, so that a run killed before
            // it leaves the folder's previous run as it was.
            if !configurationWritten {
                try writeJSON(configuration, to: File.configuration)
                configurationWritten = true
            }
            try writeRecords(records)
            try AtomicFile.write(Data(CurvesChart.svg(records).utf8), to: runFolder.appendingPathComponent(File.curves))
            if improved { try checkpoint.write(to: runFolder.appendingPathComponent(File.best)) }
            // Keep the optimizer state that matches the current last.safetensors until the new
            // checkpoint is in place: a kill at any point leaves a matching pair to resume from.
            let lastOptimizer = runFolder.appendingPathComponent(File.lastOptimizer)
            if FileManager.default.fileExists(atPath: lastOptimizer.path) {
                guard rename(lastOptimizer.path, runFolder.appendingPathComponent(File.previousOptimizer).path) == 0 else {
                    throw AtomicFileError(path: lastOptimizer.path, step: "rename", code: errno)
                }
            }
            try optimizerState.write(to: lastOptimizer)
            try checkpoint.write(to: runFolder.appendingPathComponent(File.last))
            progress(.epochFinished(record))
            if timedOut {
                stopReason = "time limit of \(configuration.timeLimitMinutes!) minutes reached"
                break
            }
        }
        if step >= totalSteps, configuration.steps != nil { stopReason = "reached \(totalSteps) steps" }
        return TrainingSummary(runFolder: runFolder, records: records, bestDice: bestDice, stopReason: stopReason)
    }

    // MARK: Data

    private func loadData() throws -> (SegmentationDataset, SegmentationDataset) {
        guard let source = try configuration.trainingSource() else {
            let training = SyntheticShapes.generate(
                count: configuration.syntheticCount, size: configuration.syntheticSize, classes: configuration.classes,
                style: configuration.syntheticShapes ?? .filled, seed: configuration.seed)
            let validation = SyntheticShapes.generate(
                count: max(8, configuration.syntheticCount / 8), size: configuration.syntheticSize, classes: configuration.classes,
                style: configuration.syntheticShapes ?? .filled, seed: configuration.seed &+ 1_000_003)
            return (training, validation)
        }
        let all = try source.load(classes: configuration.classes)
        if let validationSource = try configuration.validationSource() {
            let validation = try validationSource.load(classes: configuration.classes, mapping: all.mapping)
            guard validation.channels == all.channels else {
                throw TrainingError("\(validationSource): images have \(validation.channels) channel(s) but the training images have \(all.channels)")
            }
            return (all, validation)
        }
        guard all.samples.count >= 2 else {
            throw TrainingError("\(source): needs at least 2 images to split off validation data (or pass --val)")
        }
        return all.split(validationFraction: configuration.validationFraction, seed: configuration.seed)
    }

    private func makeAugmentation(for training: SegmentationDataset) throws -> Augmentation {
        let smallest = training.smallestSize
        let multiple = 1 << configuration.depth
        guard smallest >= multiple else {
            throw TrainingError("the smallest training image is \(smallest) pixels across, less than 2^depth = \(multiple); use a smaller --depth")
        }
        guard configuration.augment else {
            let sizes = Set(training.samples.map { [$0.height, $0.width] })
            if configuration.batchSize > 1 && sizes.count > 1 {
                throw TrainingError("images differ in size (\(sizes.count) sizes) and --no-augment uses whole images: use --batch-size 1 or allow cropping")
            }
            return .none
        }
        if let crop = configuration.crop, crop > smallest {
            let name = training.samples.first { min($0.height, $0.width) == smallest }?.name ?? ""
            throw TrainingError("--crop \(crop) is larger than the smallest training image (\(name), \(smallest) pixels across)")
        }
        let crop = min(configuration.crop ?? 256, smallest) / multiple * multiple
        return Augmentation(cropSize: crop, flipsAndRotations: true)
    }

    private func makeOptimizer() -> Optimizer {
        switch configuration.optimizer {
        case .adam: Adam(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        case .adamw: AdamW(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        case .sgd: SGD(learningRate: configuration.learningRate, momentum: configuration.momentum, weightDecay: configuration.weightDecay)
        }
    }

    // MARK: Files

    /// The saved optimizer state that belongs to the checkpoint of `epoch`.
    private func optimizerState(forEpoch epoch: Int) throws -> SafeTensors {
        for name in [File.lastOptimizer, File.previousOptimizer] {
            let url = runFolder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let state = try SafeTensors.read(from: url)
            if state.metadata["epoch"] == String(epoch) { return state }
        }
        throw TrainingError("\(runFolder.path): no optimizer state for epoch \(epoch) of \(File.last) (looked in \(File.lastOptimizer) and \(File.previousOptimizer))")
    }

    /// Removes temporary files that a killed run left behind.
    /// The run folder, created if needed; a file in its place, or a folder that cannot be
    /// created, is a clear error.
    private func createRunFolder() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: runFolder.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw TrainingError("\(runFolder.path) is a file, not a folder: choose another --out") }
            return
        }
        guard mkdirs(runFolder.path) else {
            throw TrainingError("cannot create the run folder \(runFolder.path): \(String(cString: strerror(errno)))")
        }
    }

    /// `mkdir -p`, leaving `errno` set on failure.
    private func mkdirs(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { errno = ENOTDIR }
            return isDirectory.boolValue
        }
        let parent = (path as NSString).deletingLastPathComponent
        guard parent.isEmpty || parent == path || mkdirs(parent) else { return false }
        return mkdir(path, 0o755) == 0 || errno == EEXIST
    }

    private func removeStaleTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runFolder.path)) ?? []
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            try? FileManager.default.removeItem(at: runFolder.appendingPathComponent(name))
        }
    }

    private func writeJSON<T: Encodable>(_ value: T, to name: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(value), to: runFolder.appendingPathComponent(name))
    }

    private func writeRecords(_ records: [EpochRecord]) throws {
        guard let first = records.first else { return }
        let header = EpochRecord.csvHeader(gradientColumns: first.gradientNorms.map(\.0), classDiceColumns: first.classDice.count)
        let text = ([header] + records.map(\.csvRow)).joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(text.utf8), to: runFolder.appendingPathComponent(File.metrics))
    }

    private func readRecords() throws -> [EpochRecord] {
        let url = runFolder.appendingPathComponent(File.metrics)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        let lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.first else { return [] }
        return try lines.dropFirst().map { line in
            guard let record = EpochRecord(csvRow: line, header: header) else {
                throw TrainingError("\(url.path): cannot read the line '\(line)'")
            }
            return record
        }
    }
}
