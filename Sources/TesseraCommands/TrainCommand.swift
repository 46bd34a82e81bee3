import ArgumentParser
import Foundation
import Tessera
import TesseraDistributed
import TesseraSegmentation

extension TrainingConfiguration.OptimizerKind: ExpressibleByArgument {}
extension TrainingConfiguration.ScheduleKind: ExpressibleByArgument {}
extension SegmentationLoss: ExpressibleByArgument {}
extension SyntheticShapes.Style: ExpressibleByArgument {}

/// `tessera train`: train a U-Net on a folder of images and masks, or on built-in shapes.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a U-Net segmentation model.",
        discussion: """
            DATA holds images/ and masks/ with image files (PNG, JPEG, TIFF, GIF; 8- or 16-bit \
            gray, RGB, palette), each mask named as its image, plus --mask-suffix if given. Or \
            pass two multi-page TIFF stacks, --images and --masks: page i of the masks labels \
            page i of the images. Images are scaled to [0, 1] by their bit depth's full range \
            (÷255, ÷65535); the checkpoint records it. Without data, trains on built-in synthetic \
            shapes. RUNDIR receives config.json, metrics.csv, curves.svg, last.safetensors, \
            best.safetensors and the optimizer state, each written atomically. Under mpirun \
            (mpirun -np N tessera train …) the N processes train one model data-parallel: \
            --batch-size and --threads are per process, rank 0 writes RUNDIR.
            """)

    @OptionGroup var data: DataOptions
    @Option(help: "Validation folder with images/ and masks/.")
    var val: String?
    @Option(help: "Validation images as a stack (with --val-masks).")
    var valImages: String?
    @Option(help: "Validation masks as a stack (with --val-images).")
    var valMasks: String?
    @Option(help: "Fraction of --data held out for validation when --val is absent.")
    var valFraction = 0.1
    @Option(help: "Run folder for checkpoints, metrics and plots.")
    var out = "runs/latest"
    @Option(help: "Passes over the training data (default 12; with --time-limit and no --steps, as many as the time allows).")
    var epochs: Int?
    @Option(help: "Validate and write checkpoints every N epochs (and after the last).")
    var valEvery = 1
    @Option(help: "Total optimizer steps (overrides --epochs).")
    var steps: Int?
    @Option(help: "Stop after this many minutes (validation and checkpoint still happen).")
    var timeLimit: Double?
    @Option(help: "Images per optimizer step, per process under mpirun (the global batch is N times larger; default 4).")
    var batchSize: Int?
    @Option(help: "Side of the random square training crop (default 256, capped at the smallest image).")
    var crop: Int?
    @Option(help: "Learning rate.")
    var lr: Float = 1e-3
    @Option(help: "Optimizer: adam, adamw or sgd.")
    var optimizer = TrainingConfiguration.OptimizerKind.adam
    @Option(help: "Momentum for sgd.")
    var momentum: Float = 0.9
    @Flag(help: "Nesterov momentum for sgd (nnU-Net: --optimizer sgd --momentum 0.99 --nesterov).")
    var nesterov = false
    @Option(help: "Weight decay (L2 for adam/sgd, decoupled for adamw).")
    var weightDecay: Float = 0
    @Option(help: "Validate and keep as best.safetensors an exponential moving average of the weights with this decay per step (e.g. 0.99: about the last 100 steps); last.safetensors keeps the trained weights.")
    var ema: Float?
    @Option(help: "Learning-rate schedule: none, cosine, poly (nnU-Net's (1 − t/T)^0.9) or plateau (halves on a val Dice plateau); with --time-limit, cosine and poly run to the time limit; default none).")
    var schedule: TrainingConfiguration.ScheduleKind?
    @Option(help: "Loss: bce, ce, dice, bce+dice or ce+dice (default bce+dice for 1 class, ce+dice otherwise).")
    var loss: SegmentationLoss?
    @Option(help: "Channels of the first U-Net level (default 16).")
    var width: Int?
    @Option(help: "Number of down-sampling steps (default 4).")
    var depth: Int?
    @Option(help: "1 for binary masks (0 vs non-zero), otherwise the number of classes.")
    var classes = 1
    @Flag(help: "Up-sample with bilinear interpolation instead of transposed convolutions.")
    var bilinear = false
    @Option(help: "Seed for weights, data order, augmentation and the validation split.")
    var seed: UInt64 = 0
    @Option(help: "Threads per process (default: the cores this process may use, after affinity and cgroup CPU quota).")
    var threads: Int?
    @Flag(help: "Under mpirun: normalise batch norm with the statistics of all processes' batches together (as SyncBatchNorm).")
    var syncBatchNorm = false
    @Option(help: "Start from the weights of this checkpoint.")
    var initFrom: String?
    @Flag(help: "Continue the run in --out exactly where its last checkpoint left off (--epochs, --steps, --time-limit, --val-every and --threads may change).")
    var resume = false
    @Flag(help: "Start a new run in an --out that holds one (its files are replaced from the new run's first checkpoint on).")
    var overwrite = false
    @Flag(help: "Keep the encoder (inc, down1…) at its initial weights.")
    var freezeEncoder = false
    @Option(help: "Images in the synthetic training set (without --data).")
    var syntheticCount = 160
    @Option(help: "Side of the synthetic images (without --data).")
    var syntheticSize = 128
    @Option(help: "How the synthetic shapes are drawn (without --data): filled or outlined.")
    var syntheticShapes: SyntheticShapes.Style = .filled
    @Flag(help: "No crops, flips or rotations: train on whole images.")
    var noAugment = false
    @Flag(help: "Elastic deformation as in the U-Net paper (displacements on a 3×3 grid, 10 px standard deviation).")
    var elastic = false
    @Flag(help: "Rotate each crop by a random angle (not only quarter turns).")
    var rotate = false
    @Flag(help: "Zoom each crop by a random factor from 0.8 to 1.25.")
    var scale = false
    @Flag(help: "Jitter brightness, contrast and gamma.")
    var intensity = false
    @Option(help: "The U-Net paper's border weight w0 (it used 10): weights the cross-entropy by w0·exp(−(d1+d2)²/2σ²), σ = 5 px, on the background between objects, plus class balancing (binary masks).")
    var borderWeight: Float?
    @Flag(help: "Batches follow sorted file names instead of a shuffled order.")
    var noShuffle = false
    @Flag(help: "Plan crop, batch size, depth, width, augmentation, border weight and schedule from the training data and --time-limit, print the plan and why, and train with it; options given beside --auto win over its choices.")
    var auto = false

    var trainingConfiguration: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.dataPath = data.data
        c.maskSuffix = data.maskSuffix
        c.imageStackPath = data.images
        c.maskStackPath = data.masks
        c.validationPath = val
        c.validationImageStackPath = valImages
        c.validationMaskStackPath = valMasks
        c.validationFraction = valFraction
        c.outputPath = out
        c.epochs = epochs ?? (timeLimit != nil && steps == nil ? TrainingConfiguration.maximumCount : 12)
        c.steps = steps
        c.validationInterval = valEvery
        c.timeLimitMinutes = timeLimit
        c.batchSize = batchSize ?? c.batchSize
        c.crop = crop
        c.learningRate = lr
        c.optimizer = optimizer
        c.momentum = momentum
        c.nesterov = nesterov ? true : nil
        c.weightDecay = weightDecay
        c.schedule = schedule ?? c.schedule
        c.averageDecay = ema
        c.loss = loss
        c.width = width ?? c.width
        c.depth = depth ?? c.depth
        c.classes = classes
        c.bilinear = bilinear
        c.seed = seed
        c.threads = threads
        c.synchronizedBatchNorm = syncBatchNorm
        c.initPath = initFrom
        c.freezeEncoder = freezeEncoder
        c.augment = !noAugment
        c.borderWeight = borderWeight
        (c.elastic, c.rotate, c.scale, c.intensity) = (elastic ? true : nil, rotate ? true : nil, scale ? true : nil, intensity ? true : nil)
        c.shuffle = !noShuffle
        c.syntheticCount = syntheticCount
        c.syntheticSize = syntheticSize
        c.syntheticShapes = syntheticShapes
        return c
    }

    func validate() throws {
        if let problem = trainingConfiguration.problem { throw ValidationError(problem) }
        do {
            _ = try trainingConfiguration.trainingSource()
            _ = try trainingConfiguration.validationSource()
        } catch let error as DatasetError {
            throw ValidationError(error.reason)
        }
        if resume && initFrom != nil { throw ValidationError("--resume and --init-from exclude each other") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite exclude each other") }
        if auto && resume { throw ValidationError("--auto and --resume exclude each other: a resumed run keeps the plan in its config.json") }
        if auto && noAugment { throw ValidationError("--auto and --no-augment exclude each other: the plan trains on augmented crops") }
    }

    func run() throws {
        let communicator = Communicator.isLaunchedByMPI ? try Communicator.world() : nil
        var configuration = trainingConfiguration
        if resume {
            // The options as given: the trainer compares the merged ones.
            try communicator?.requireSame(configuration, named: "options")
        }
        if resume && (communicator?.rank ?? 0) == 0 {
            let saved = URL(fileURLWithPath: out).appendingPathComponent(Trainer.File.configuration)
            guard let data = try? Data(contentsOf: saved),
                  let previous = try? JSONDecoder().decode(TrainingConfiguration.self, from: data)
            else {
                throw TrainingError("\(saved.path): no readable run configuration to resume")
            }
            configuration = try ResumedConfiguration.merge(
                stored: previous, given: trainingConfiguration, defaults: try Self.parse([]).trainingConfiguration)
            configuration.outputPath = out
        }
        if let communicator, resume, communicator.size > 1 {
            // Rank 0 read the run's configuration; the others continue with it.
            let encoded = communicator.broadcast([UInt8](try JSONEncoder().encode(configuration)))
            configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(encoded))
        }
        let display = ProgressDisplay()
        var datasets: Trainer.Datasets?
        if auto {
            // Planning measures a step on the threads the run will train on.
            var context = ExecutionContext.current
            context.threads = configuration.threads ?? context.threads
            (configuration, datasets) = try withExecutionContext(context) {
                try planned(configuration, communicator: communicator, display: display)
            }
        }
        let summary = try Trainer(
            configuration: configuration, resume: resume, overwrite: overwrite, communicator: communicator,
            datasets: datasets, progress: display.handle
        ).run()
        guard (communicator?.rank ?? 0) == 0 else { return }
        let folder = summary.runFolder.path
        print("""
            \(summary.stopReason); best val Dice \(String(format: "%.4f", summary.bestDice))
            model:   \(folder)/\(Trainer.File.best) (last epoch: \(folder)/\(Trainer.File.last))
            metrics: \(folder)/\(Trainer.File.metrics), curves: \(folder)/\(Trainer.File.curves)
            predict: tessera predict --model \(folder)/\(Trainer.File.best) --input IMAGES --out \(folder)/predictions
            """)
    }

    /// `configuration` with --auto's plan wherever the options left the choice open,
    /// printed with the reasons. Rank 0 plans (the step time it measures differs between
    /// processes) and the others train with its plan. Also returns the datasets rank 0
    /// loaded for the fingerprint, which the plan does not change.
    private func planned(
        _ configuration: TrainingConfiguration, communicator: Communicator?, display: ProgressDisplay
    ) throws -> (TrainingConfiguration, Trainer.Datasets?) {
        var planned = configuration
        var datasets: Trainer.Datasets?
        if (communicator?.rank ?? 0) == 0 {
            display.handle(.started(MachineReport.summary))
            let loaded = try configuration.datasets()
            datasets = loaded
            let fingerprint = DatasetFingerprint(loaded.0)
            let plan = TrainingPlan(
                fingerprint: fingerprint, classes: configuration.classes, timeLimitMinutes: configuration.timeLimitMinutes,
                secondsPerStep: TrainingPlan.measuredSecondsPerStep)
            plan.apply(to: &planned)
            let given: [(String, Bool)] = [
                ("--crop", crop != nil), ("--batch-size", batchSize != nil), ("--depth", depth != nil), ("--width", width != nil),
                ("--border-weight", borderWeight != nil), ("--schedule", schedule != nil),
                ("--elastic", elastic), ("--rotate", rotate), ("--scale", scale), ("--intensity", intensity),
            ]
            (planned.crop, planned.batchSize, planned.depth, planned.width) = (
                crop ?? planned.crop, batchSize ?? planned.batchSize, depth ?? planned.depth, width ?? planned.width)
            (planned.borderWeight, planned.schedule) = (borderWeight ?? planned.borderWeight, schedule ?? planned.schedule)
            (planned.elastic, planned.rotate, planned.scale, planned.intensity) = (
                elastic || plan.elastic, rotate || plan.rotate, scale || plan.scale, intensity || plan.intensity)
            print("data: \(fingerprint.summary)")
            for reason in plan.reasons { print("plan: \(reason)") }
            let kept = given.filter(\.1).map(\.0)
            if !kept.isEmpty { print("plan: \(kept.joined(separator: ", ")) as given instead") }
        }
        if let communicator, communicator.size > 1 {
            let encoded = communicator.broadcast([UInt8](try JSONEncoder().encode(planned)))
            planned = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(encoded))
        }
        return (planned, datasets)
    }
}
