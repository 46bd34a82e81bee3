import Dispatch
import Foundation
import Tessera
import TesseraDistributed

/// Trains a U-Net on a dataset folder (or the synthetic shapes), validating every epoch
/// and keeping the run folder up to date: `config.json`, `metrics.csv`, `curves.svg`,
/// `last.safetensors` and `best.safetensors` with the optimizer state beside them. Every
/// file is replaced atomically, so a killed run loses at most the epoch in progress, and
/// ``init(configuration:resume:overwrite:communicator:datasets:progress:)`` with `resume`
/// continues it exactly. Each step's batch is cropped and augmented in the background
/// during the step before (``Prefetch``). With `averageDecay` set, validation and
/// `best.safetensors` use an ``ExponentialMovingAverage`` of the weights, while
/// `last.safetensors` keeps the trained weights and the average is saved with the
/// optimizer state.
///
/// With a communicator, the processes of an MPI job train one model data-parallel
/// (``DataParallel``): each epoch's shuffled order is shared and each process takes every
/// N-th image of it, gradients are averaged, validation images are split over the
/// processes and their counts summed. Only rank 0 writes the run folder and reports
/// progress.
public final class Trainer {
    /// A training set and its validation set.
    public typealias Datasets = (training: SegmentationDataset, validation: SegmentationDataset)
    public let configuration: TrainingConfiguration
    public let runFolder: URL
    private let resume: Bool
    private let overwrite: Bool
    private let communicator: Communicator?
    private let datasets: Datasets?
    private let progress: (TrainingEvent) -> Void
    /// Steps between the checks that every process holds the same weights.
    private static let replicaCheckInterval = 50

    /// A run folder belongs to one run: a second process training into it is refused (a
    /// lock held for the whole run), and so is a new run into a folder that holds one,
    /// unless `overwrite`; even then nothing of the old run is replaced before the new
    /// run's first checkpoint.
    ///
    /// - Parameters:
    ///   - resume: continue the run in `configuration.outputPath` from its
    ///     `last.safetensors` (its `config.json` must match `configuration`).
    ///   - overwrite: start a new run in a folder that holds one.
    ///   - communicator: the processes of a data-parallel job, every one running a trainer
    ///     with the same configuration; nil trains in this process alone.
    ///   - datasets: the sets `configuration.datasets()` returns, when the caller has
    ///     loaded them already; nil loads them.
    ///   - progress: receives events as training goes (on rank 0 only).
    public init(
        configuration: TrainingConfiguration, resume: Bool = false, overwrite: Bool = false,
        communicator: Communicator? = nil,
        datasets: Datasets? = nil,
        progress: @escaping (TrainingEvent) -> Void = { _ in }
    ) throws {
        if let problem = configuration.problem { throw TrainingError(problem) }
        self.configuration = configuration
        self.runFolder = URL(fileURLWithPath: configuration.outputPath)
        self.resume = resume
        self.overwrite = overwrite
        self.communicator = communicator
        self.datasets = datasets
        let writes = (communicator?.rank ?? 0) == 0
        self.progress = writes ? progress : { _ in }
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

    /// Runs training to the end (epochs, steps or time limit) and returns the summary, in
    /// the current ``ExecutionContext`` with the configuration's threads, if it names them.
    public func run() throws -> TrainingSummary {
        var context = ExecutionContext.current
        context.threads = configuration.threads ?? context.threads
        return try withExecutionContext(context) { try train() }
    }

    private func train() throws -> TrainingSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let (rank, processes) = (communicator?.rank ?? 0, communicator?.size ?? 1)
        let writes = rank == 0
        progress(.started(MachineReport.summary))
        try communicator?.requireSame(configuration, named: "options")

        let (training, validation) = try datasets ?? configuration.datasets()
        let augmentation = try makeAugmentation(for: training)
        var generator = RandomGenerator(seed: configuration.seed)
        let modelConfiguration = UNetConfiguration(
            inputChannels: training.channels, classes: configuration.classes, width: configuration.width,
            depth: configuration.depth, bilinear: configuration.bilinear)
        let model = UNet(modelConfiguration, generator: &generator)
        let optimizer = makeOptimizer()
        var plateau = PlateauSchedule(goal: .maximize, factor: 0.5, patience: 5)
        var records: [EpochRecord] = []
        var (epoch, step, bestDice) = (0, 0, -1.0)
        var configurationWritten = false
        var resumedAverage: SafeTensors?

        // The run folder is rank 0's: only it locks, reads and writes it.
        var lock: RunLock?
        defer { withExtendedLifetime(lock) {} }
        if writes {
            try createRunFolder()
            lock = try RunLock(folder: runFolder)
            if !resume && !overwrite && FileManager.default.fileExists(atPath: runFolder.appendingPathComponent(File.last).path) {
                throw TrainingError(
                    "\(runFolder.path) already holds a training run; pass --resume to continue it, --overwrite to replace it, or another --out")
            }
            removeStaleTemporaryFiles()
        }
        if resume {
            var resumed: SafeTensors
            if writes {
                let checkpoint = try Checkpoint.read(from: runFolder.appendingPathComponent(File.last))
                guard checkpoint.model.configuration == modelConfiguration else {
                    throw TrainingError("\(runFolder.path)/\(File.last) holds \(checkpoint.model.configuration), but the run's configuration builds \(modelConfiguration)")
                }
                try model.load(checkpoint.model.stateDictionary(), source: File.last)
                resumed = try optimizerState(forEpoch: checkpoint.epoch)
                resumed.metadata["step"] = String(checkpoint.step)
                resumed.metadata["best_dice"] = String(checkpoint.bestDice)
                resumed.metadata["processes"] = String(checkpoint.processes)
                records = try readRecords().filter { $0.epoch <= checkpoint.epoch }
            } else {
                resumed = SafeTensors(tensors: [:])
            }
            // The other processes get the optimizer state and counters from rank 0 (the
            // weights follow with the data-parallel wrapper).
            if let communicator, processes > 1 {
                resumed = try SafeTensors.decode(Data(communicator.broadcast([UInt8](resumed.encoded()))), path: "rank 0's optimizer state")
            }
            let (optimizerState, averageState) = Self.separatingAverage(resumed)
            try optimizer.load(optimizerState, source: runFolder.path)
            resumedAverage = averageState
            if let state = resumed.metadata["plateau"], let decoded = try? JSONDecoder().decode(PlateauSchedule.self, from: Data(state.utf8)) {
                plateau = decoded
            }
            (epoch, step) = (Int(resumed.metadata["epoch"] ?? "") ?? 0, Int(resumed.metadata["step"] ?? "") ?? 0)
            bestDice = Double(resumed.metadata["best_dice"] ?? "") ?? -1
            let trainedOn = Int(resumed.metadata["processes"] ?? "") ?? 1
            if trainedOn != processes {
                progress(.started(
                    "resuming on \(processes) process(es) a run trained on \(trainedOn): the global batch is now \(processes * configuration.batchSize) images "
                        + "(it was \(trainedOn * configuration.batchSize)), so the data order and the steps from here on differ from the original run"))
            }
        } else if let initPath = configuration.initPath, writes {
            let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: initPath))
            guard checkpoint.model.configuration == modelConfiguration else {
                throw TrainingError("\(initPath) holds a model \(checkpoint.model.configuration), but this run builds \(modelConfiguration)")
            }
            try model.load(checkpoint.model.stateDictionary(), source: initPath)
        }
        if configuration.freezeEncoder {
            for (_, block) in model.encoderBlocks { block.freeze() }
        }
        // With --ema, validation scores (and best.safetensors holds) a second model that
        // receives the average of the trained one's weights.
        let average = configuration.averageDecay.map { ExponentialMovingAverage(of: model, decay: $0) }
        if let average, resume {
            guard let resumedAverage else { throw TrainingError("\(runFolder.path): the run keeps a weight average (--ema), but its optimizer state holds none") }
            try average.load(resumedAverage, source: "\(runFolder.path)/\(File.lastOptimizer)")
        }
        let validated = average == nil ? model : UNet(modelConfiguration, generator: &generator)
        let parallel = communicator.map {
            DataParallel(model, communicator: $0, synchronizingBatchNorm: configuration.synchronizedBatchNorm)
        }

        // Every process takes every N-th image of the epoch's order (padded to a multiple
        // of N with its first images, as PyTorch's DistributedSampler).
        let imagesPerProcess = (training.samples.count + processes - 1) / processes
        let stepsPerEpoch = (imagesPerProcess + configuration.batchSize - 1) / configuration.batchSize
        let totalSteps = configuration.steps ?? configuration.epochs * stepsPerEpoch
        let totalEpochs = (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch
        let timeLimit = configuration.timeLimitMinutes.map { $0 * 60 }
        let loss = configuration.resolvedLoss
        let blocks = model.encoderBlocks.map { ($0.0, "encoder") } + model.decoderBlocks.map { ($0.0, "decoder") }
        let batchText = processes > 1
            ? "batch \(configuration.batchSize) per process on \(processes) processes (global batch \(processes * configuration.batchSize)"
                + (configuration.synchronizedBatchNorm ? ", batch norm synchronised)" : ")")
            : "batch \(configuration.batchSize)"
        let untilTimeLimit = configuration.steps == nil && configuration.epochs == TrainingConfiguration.maximumCount
        let stepsText = if let minutes = configuration.timeLimitMinutes, untilTimeLimit {
            "steps until the time limit (\(String(format: "%g", minutes)) min)"
        } else {
            totalSteps == 1 ? "1 step" : "\(totalSteps) steps"
        }
        progress(.started(
            "training U-Net w\(configuration.width) d\(configuration.depth) (\(model.trainableParameterCount) trainable weights) on "
                + "\(training.samples.count) images (\(try configuration.trainingSource().map(String.init(describing:)) ?? "synthetic shapes")), validating on \(validation.samples.count)"
                + (configuration.averageDecay.map { " with an average of the weights (--ema \(String(format: "%g", $0)))" } ?? "")
                + "; \(stepsText) of \(batchText)" + (augmentation.cropSize.map { ", crops \($0)²" } ?? "") + augmentation.extras.map { ", \($0)" }.joined()
                + (configuration.borderWeight.map { ", border weight \($0)" } ?? "")
                + ", \(ExecutionContext.current.threads) thread\(ExecutionContext.current.threads == 1 ? "" : "s")" + (processes > 1 ? " each" : "")))

        var stopReason = "finished \(totalEpochs) epochs"
        var stepTimes: [Double] = []
        // Sums since the last validation: training loss and per-block gradient norms.
        var lossTotal = 0.0, lossCount = 0
        var normTotals = [String: Double]()
        // Progress through the run, from 0 to 1: by time under a time limit (the processes'
        // mean clock, so that every process sets the same rate), else by step.
        // A time limit counts from this process's start, on --resume too.
        var sharedElapsed = 0.0, lastValidation = 0.0
        func runProgress() -> Double {
            if let timeLimit { return min(1, sharedElapsed / timeLimit) }
            return Double(step) / Double(max(totalSteps, 1))
        }
        var decay = makeDecay()
        // A decaying schedule sets the rate before every step, from the run's progress.
        func decayRate() { decay?.apply(to: optimizer, epoch: Int(runProgress() * Double(Self.scheduleResolution))) }
        // The batch of a step, with its border weights: made in the background during the
        // step before (Prefetch), from seeds that depend on the epoch and positions alone.
        let (seed, borderWeight, batchSize) = (configuration.seed, configuration.borderWeight, configuration.batchSize)
        let prepare: @Sendable (Int, [(sample: Int, position: Int)]) -> (Batch, Tensor?) = { epoch, items in
            let batch = Batch(augmenting: items, of: training, with: augmentation) { Trainer.streamSeed(seed, epoch, $0) }
            return (batch, borderWeight.map { batch.weights(BorderWeights(w0: $0)) })
        }
        let prefetch = Prefetch<(Batch, Tensor?)>()
        defer { prefetch.wait() }
        // The epoch and images of the step after the one that starts at `batchStart`.
        func following(_ epoch: Int, _ batchStart: Int, _ share: [(sample: Int, position: Int)]) -> (Int, [(sample: Int, position: Int)])? {
            let start = batchStart + batchSize
            if start < share.count { return (epoch, Array(share[start..<min(start + batchSize, share.count)])) }
            guard epoch < totalEpochs else { return nil }
            let next = epochShare(of: training.samples.count, epoch: epoch + 1, rank: rank, processes: processes)
            return (epoch + 1, Array(next.prefix(batchSize)))
        }
        while epoch < totalEpochs && step < totalSteps {
            epoch += 1
            decayRate()
            let epochRate = optimizer.learningRate
            let share = epochShare(of: training.samples.count, epoch: epoch, rank: rank, processes: processes)
            var stepInEpoch = 0
            var timedOut = false
            for batchStart in stride(from: 0, to: share.count, by: configuration.batchSize) {
                guard step < totalSteps else { break }
                if stepInEpoch > 0 { decayRate() }
                let stepStart = elapsed()
                let (batch, weights) = prefetch.take(step: step + 1) {
                    prepare(epoch, Array(share[batchStart..<min(batchStart + batchSize, share.count)]))
                }
                if step + 1 < totalSteps, let (nextEpoch, nextItems) = following(epoch, batchStart, share) {
                    prefetch.start(step: step + 2) { prepare(nextEpoch, nextItems) }
                }
                let items = batch.images.shape[0]
                var logits = Tensor.zeros([1])
                let lossFunction = { (model: UNet) -> Tensor in
                    logits = model.logits(batch.images)
                    return loss(logits, batch, weights: weights)
                }
                let (value, gradients) = parallel.map { $0.valueAndGradient(lossFunction) } ?? valueAndGradient(of: model, lossFunction)
                step += 1
                // The mean of the processes' losses, and whether any has run out of time:
                // every process stops after the same step.
                var shared: [Double] = [Double(value.scalar), timeLimit.map { elapsed() >= $0 ? 1 : 0 } ?? 0, elapsed()]
                if processes > 1 { communicator!.sumOverReplicas(&shared) }
                let lossValue = shared[0] / Double(processes)
                sharedElapsed = shared[2] / Double(processes)
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
                if let parallel {
                    if !configuration.synchronizedBatchNorm { parallel.broadcastState() }
                    if step % Self.replicaCheckInterval == 0 { try checkReplicas(parallel, step: step) }
                }
                average?.update(from: model)
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
                    dice: batchMetrics.dice, imagesPerSecond: Double(items * processes) / max(recent, 1e-9), secondsRemaining: remaining)))
                if shared[1] > 0 {
                    timedOut = true
                    break
                }
            }

            let isLastEpoch = epoch == totalEpochs || step >= totalSteps || timedOut
            guard epoch % configuration.validationInterval == 0 || isLastEpoch else { continue }
            // Under a time limit, validation takes at most about a twentieth of it.
            if let timeLimit, !isLastEpoch, sharedElapsed - lastValidation < timeLimit / Double(Self.validationsPerTimeLimit) { continue }
            lastValidation = sharedElapsed
            if let average {
                average.copy(to: validated)
                for ((_, counter), (_, trained)) in zip(validated.allCounters(), model.allCounters()) { counter.value = trained.value }
            }
            let (metrics, validationLoss) = validate(validated, on: validation, loss: loss, rank: rank, processes: processes)
            let encoder = (model.encoderBlocks.map { normTotals[$0.0] ?? 0 }.map { $0 * $0 }.reduce(0, +)).squareRoot()
            let decoder = (model.decoderBlocks.map { normTotals[$0.0] ?? 0 }.map { $0 * $0 }.reduce(0, +)).squareRoot()
            let count = Double(max(lossCount, 1))
            let record = EpochRecord(
                epoch: epoch, step: step, seconds: elapsed(), learningRate: epochRate,
                trainLoss: lossTotal / count, validationLoss: validationLoss, validationDice: metrics.dice,
                validationIoU: metrics.iou, validationAccuracy: metrics.pixelAccuracy,
                gradientNorms: [("encoder", encoder / count), ("decoder", decoder / count)] + blocks.map { ($0.0, (normTotals[$0.0] ?? 0) / count) },
                classDice: training.mapping.isBinary ? [] : metrics.classes.dropFirst().map(\.dice))
            records.append(record)
            (lossTotal, lossCount, normTotals) = (0, 0, [:])
            if configuration.schedule == .plateau { plateau.apply(to: optimizer, epoch: epoch, metric: Float(metrics.dice)) }

            let improved = metrics.dice > bestDice
            if improved { bestDice = metrics.dice }
            if let parallel { try checkReplicas(parallel, step: step) }
            if writes {
                func checkpoint(of model: UNet) -> Checkpoint {
                    Checkpoint(model: model, mapping: training.mapping, epoch: epoch, step: step, bestDice: bestDice, processes: processes)
                }
                try writeCheckpoint(
                    checkpoint(of: model), best: improved ? checkpoint(of: validated) : nil, optimizer: optimizer, average: average,
                    plateau: plateau, records: records, configurationWritten: &configurationWritten)
            }
            progress(.epochFinished(record))
            if timedOut {
                stopReason = "time limit of \(configuration.timeLimitMinutes!) minutes reached"
                break
            }
        }
        if step >= totalSteps, configuration.steps != nil { stopReason = "reached \(totalSteps) steps" }
        if let parallel {
            try checkReplicas(parallel, step: step)
            stopReason += "; the weights are bit-identical on all \(processes) processes"
        }
        return TrainingSummary(runFolder: runFolder, records: records, bestDice: bestDice, stopReason: stopReason)
    }

    // MARK: Steps

    /// This process's images of an epoch, with their positions in the epoch's order: the
    /// order is shuffled from the seed and the epoch alone, so it is the same on every
    /// process and after a resume; padded with its first images to a multiple of
    /// `processes`, of which this process takes every `processes`-th from `rank` on.
    private func epochShare(of count: Int, epoch: Int, rank: Int, processes: Int) -> [(sample: Int, position: Int)] {
        var order = Array(0..<count)
        if configuration.shuffle {
            var generator = RandomGenerator(seed: Self.streamSeed(configuration.seed, epoch, -1))
            order.shuffle(using: &generator)
        }
        let padded = (count + processes - 1) / processes * processes
        return stride(from: rank, to: padded, by: processes).map { (order[$0 % count], $0) }
    }

    /// The seed of the random stream for one epoch's shuffle (`position` −1) or for the
    /// augmentation of the image at `position` of its order.
    private static func streamSeed(_ seed: UInt64, _ epoch: Int, _ position: Int) -> UInt64 {
        var generator = RandomGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0x9E37_79B9_7F4A_7C15))
        return generator.next() ^ UInt64(truncatingIfNeeded: position &+ 1) &* 0xBF58_476D_1CE4_E5B9
    }

    /// The metrics and mean loss over the validation images; in a data-parallel job each
    /// process scores every N-th image and their counts are summed, so that the figures are
    /// those of one process.
    private func validate(
        _ model: UNet, on validation: SegmentationDataset, loss: SegmentationLoss, rank: Int, processes: Int
    ) -> (SegmentationMetrics, Double) {
        let images = Array(stride(from: rank, to: validation.samples.count, by: processes))
        var (metrics, totalLoss) = Validation.evaluate(model, on: validation, images: images, loss: loss)
        if let communicator, processes > 1 {
            var sums = metrics.flattenedCounts.map(Double.init) + [totalLoss]
            communicator.sumOverReplicas(&sums)
            totalLoss = sums.removeLast()
            metrics = SegmentationMetrics(labelCount: validation.mapping.labelCount, flattenedCounts: sums.map { Int($0) })
        }
        return (metrics, totalLoss / Double(max(validation.samples.count, 1)))
    }

    /// Stops the job when the processes' weights are no longer identical (they would train
    /// different models from here on).
    private func checkReplicas(_ parallel: DataParallel<UNet>, step: Int) throws {
        guard parallel.replicasAgree() else {
            throw TrainingError(
                "after step \(step) the processes hold different weights: the data-parallel replicas diverged, so the job stops "
                    + "(\(File.last) keeps the last checkpoint in which they agreed)", isBadInput: false)
        }
    }

    /// Writes the checkpoint, its optimizer state (with the weight average, if any), the
    /// best checkpoint when there is a new one, the metrics and the curves, each file
    /// atomically and in an order that a kill at any point leaves resumable.
    private func writeCheckpoint(
        _ checkpoint: Checkpoint, best: Checkpoint?, optimizer: Optimizer, average: ExponentialMovingAverage?, plateau: PlateauSchedule,
        records: [EpochRecord], configurationWritten: inout Bool
    ) throws {
        var optimizerState = optimizer.stateDictionary()
        if let average {
            let state = average.stateDictionary()
            for (name, tensor) in state.tensors { optimizerState.tensors[Self.averagePrefix + name] = tensor }
            for (key, value) in state.metadata { optimizerState.metadata[Self.averagePrefix + key] = value }
        }
        optimizerState.metadata["plateau"] = String(decoding: try JSONEncoder().encode(plateau), as: UTF8.self)
        optimizerState.metadata["epoch"] = String(checkpoint.epoch)
        // The configuration goes in with the first checkpoint, so that a run killed before
        // it leaves the folder's previous run as it was.
        if !configurationWritten {
            try writeJSON(configuration, to: File.configuration)
            configurationWritten = true
        }
        try writeRecords(records)
        try AtomicFile.write(Data(CurvesChart.svg(records).utf8), to: runFolder.appendingPathComponent(File.curves))
        if let best { try best.write(to: runFolder.appendingPathComponent(File.best)) }
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
        return Augmentation(cropSize: crop, flipsAndRotations: true).with(
            elastic: configuration.elastic == true, rotation: configuration.rotate == true, scaling: configuration.scale == true,
            intensity: configuration.intensity == true)
    }

    /// The steps of a decaying schedule over the run: its rate changes by 1/resolution of the run at most.
    static let scheduleResolution = 1000
    /// How many validations a time-limited run does at most (besides the last).
    static let validationsPerTimeLimit = 20

    /// The cosine or poly decay over the run's progress, nil for the others.
    private func makeDecay() -> (any LearningRateSchedule)? {
        switch configuration.schedule {
        case .cosine: CosineSchedule(base: configuration.learningRate, length: Self.scheduleResolution)
        case .poly: PolynomialSchedule(base: configuration.learningRate, length: Self.scheduleResolution, power: 0.9)
        case .none, .plateau: nil
        }
    }

    private func makeOptimizer() -> Optimizer {
        switch configuration.optimizer {
        case .adam: Adam(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        case .adamw: AdamW(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        case .sgd:
            SGD(learningRate: configuration.learningRate, momentum: configuration.momentum, nesterov: configuration.nesterov == true,
                weightDecay: configuration.weightDecay)
        }
    }

    // MARK: Files

    /// What names the weight average's tensors and metadata inside the optimizer state file.
    private static let averagePrefix = "average."

    /// A saved optimizer state split into the optimizer's own and the weight average's
    /// (nil when the run kept none).
    private static func separatingAverage(_ state: SafeTensors) -> (optimizer: SafeTensors, average: SafeTensors?) {
        var optimizer = state, average = SafeTensors()
        for (name, tensor) in state.tensors where name.hasPrefix(averagePrefix) {
            optimizer.tensors[name] = nil
            average.tensors[String(name.dropFirst(averagePrefix.count))] = tensor
        }
        for (key, value) in state.metadata where key.hasPrefix(averagePrefix) {
            optimizer.metadata[key] = nil
            average.metadata[String(key.dropFirst(averagePrefix.count))] = value
        }
        return (optimizer, average.metadata.isEmpty ? nil : average)
    }

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
