/// Everything that defines a training run; written to the run folder as `config.json`.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// Which optimizer updates the weights.
    public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case adam, adamw, sgd }
    /// How the learning rate changes over epochs.
    public enum ScheduleKind: String, Codable, CaseIterable, Sendable { case none, cosine, poly, plateau }

    /// Training data folder; nil trains on the built-in synthetic shapes.
    public var dataPath: String?
    /// Validation folder; nil splits `validationFraction` off the training data.
    public var validationPath: String?
    /// What a mask's file name adds to its image's before the extension (`_mask` pairs
    /// `x.jpg` with `x_mask.gif`); nil for identical names.
    public var maskSuffix: String?
    /// Training data as a pair of multi-page TIFF stacks, instead of `dataPath`.
    public var imageStackPath: String?
    public var maskStackPath: String?
    /// Validation data as a pair of stacks, instead of `validationPath`.
    public var validationImageStackPath: String?
    public var validationMaskStackPath: String?
    public var validationFraction = 0.1
    public var outputPath = "runs/latest"
    public var epochs = 12
    /// Validate and write checkpoints every this many epochs (and after the last).
    public var validationInterval = 1
    /// Total optimizer steps; overrides `epochs` when set.
    public var steps: Int?
    public var timeLimitMinutes: Double?
    /// Images per optimizer step, per process in a data-parallel job.
    public var batchSize = 4
    /// Side of the random training crop; nil means 256 capped at the smallest image.
    public var crop: Int?
    public var learningRate: Float = 1e-3
    public var optimizer = OptimizerKind.adam
    public var momentum: Float = 0.9
    /// Nesterov momentum for SGD; nil or false for classical momentum.
    public var nesterov: Bool?
    public var weightDecay: Float = 0
    public var schedule = ScheduleKind.none
    /// Decay per step of an exponential moving average of the weights, which validation
    /// scores and `best.safetensors` holds; nil validates the trained weights themselves.
    public var averageDecay: Float?
    public var loss: SegmentationLoss?
    public var width = 16
    public var depth = 4
    public var classes = 1
    public var bilinear = false
    public var seed: UInt64 = 0
    /// Threads of each process.
    public var threads: Int?
    /// In a data-parallel job, normalise batch norm with the statistics of all processes'
    /// batches together (PyTorch's `SyncBatchNorm`); otherwise each process's batch alone.
    public var synchronizedBatchNorm = false
    /// A checkpoint whose weights start the run.
    public var initPath: String?
    public var freezeEncoder = false
    public var augment = true
    /// The U-Net paper's elastic deformation (3×3 grid, 10 px); nil or false for none.
    public var elastic: Bool?
    /// Rotation of the crop by any angle; nil or false for quarter turns only.
    public var rotate: Bool?
    /// Zoom by a factor from 0.8 to 1.25; nil or false for none.
    public var scale: Bool?
    /// Brightness, contrast and gamma jitter; nil or false for none.
    public var intensity: Bool?
    /// The U-Net paper's border weight `w0` of the cross-entropy (σ = 5 px); nil for none.
    public var borderWeight: Float?
    public var shuffle = true
    /// Size of the synthetic training set (images) and of their sides.
    public var syntheticCount = 160
    public var syntheticSize = 128
    /// How the synthetic shapes are drawn; nil means filled.
    public var syntheticShapes: SyntheticShapes.Style?

    public init() {}

    /// The training data named by the options; nil for the synthetic shapes.
    public func trainingSource() throws -> DataSource? {
        try DataSource.from(
            folder: dataPath, maskSuffix: maskSuffix, images: imageStackPath, masks: maskStackPath,
            options: ("--data", "--images", "--masks"))
    }

    /// The validation data named by the options; nil to split it off the training data.
    public func validationSource() throws -> DataSource? {
        try DataSource.from(
            folder: validationPath, maskSuffix: validationPath == nil ? nil : maskSuffix, images: validationImageStackPath,
            masks: validationMaskStackPath, options: ("--val", "--val-images", "--val-masks"))
    }

    /// The training and validation sets the options name: the folders or stacks, the
    /// validation fraction split off the training data, or the synthetic shapes.
    public func datasets() throws -> (SegmentationDataset, SegmentationDataset) {
        guard let source = try trainingSource() else {
            let training = SyntheticShapes.generate(
                count: syntheticCount, size: syntheticSize, classes: classes,
                style: syntheticShapes ?? .filled, seed: seed)
            let validation = SyntheticShapes.generate(
                count: max(8, syntheticCount / 8), size: syntheticSize, classes: classes,
                style: syntheticShapes ?? .filled, seed: seed &+ 1_000_003)
            return (training, validation)
        }
        let all = try source.load(classes: classes)
        if let validationSource = try validationSource() {
            let validation = try validationSource.load(classes: classes, mapping: all.mapping)
            guard validation.channels == all.channels else {
                throw TrainingError("\(validationSource): images have \(validation.channels) channel(s) but the training images have \(all.channels)")
            }
            return (all, validation)
        }
        guard all.samples.count >= 2 else {
            throw TrainingError("\(source): needs at least 2 images to split off validation data (or pass --val)")
        }
        return all.split(validationFraction: validationFraction, seed: seed)
    }

    /// The largest epoch, step and interval count accepted: 10^9, so that products of
    /// them with a dataset's steps per epoch never overflow.
    public static let maximumCount = 1_000_000_000

    /// The loss to use: the explicit one, or the standard one for the class count.
    public var resolvedLoss: SegmentationLoss { loss ?? .standard(classes: classes) }

    /// The first problem with the values, as a sentence naming the option; nil when fine.
    public var problem: String? {
        if batchSize < 1 || batchSize > 4096 { return "--batch-size must be between 1 and 4096, got \(batchSize)" }
        if epochs < 1 || epochs > Self.maximumCount { return "--epochs must be between 1 and \(Self.maximumCount), got \(epochs)" }
        if validationInterval < 1 || validationInterval > Self.maximumCount {
            return "--val-every must be between 1 and \(Self.maximumCount), got \(validationInterval)"
        }
        if let steps, steps < 1 || steps > Self.maximumCount { return "--steps must be between 1 and \(Self.maximumCount), got \(steps)" }
        if let timeLimitMinutes, !(timeLimitMinutes > 0) { return "--time-limit must be a positive number of minutes, got \(timeLimitMinutes)" }
        if !(learningRate > 0) || !learningRate.isFinite { return "--lr must be a positive number, got \(learningRate)" }
        if momentum < 0 || momentum >= 1 { return "--momentum must be in [0, 1), got \(momentum)" }
        if nesterov == true && (optimizer != .sgd || !(momentum > 0)) { return "--nesterov needs --optimizer sgd and a --momentum above 0" }
        if weightDecay < 0 { return "--weight-decay must be ≥ 0, got \(weightDecay)" }
        if let averageDecay, !(averageDecay > 0 && averageDecay < 1) { return "--ema must be a decay between 0 and 1 (e.g. 0.99), got \(averageDecay)" }
        if let crop, crop < 1 << depth { return "--crop \(crop) is smaller than 2^depth = \(1 << depth)" }
        if !(validationFraction > 0 && validationFraction < 1) { return "--val-fraction must be between 0 and 1, got \(validationFraction)" }
        if let threads, threads < 1 { return "--threads must be at least 1, got \(threads)" }
        if syntheticCount < 2 || syntheticSize < 16 { return "the synthetic set needs at least 2 images of at least 16 pixels" }
        if syntheticSize > 8192 { return "--synthetic-size must be at most 8192, got \(syntheticSize)" }
        if syntheticCount > 1_000_000 || Double(syntheticCount) * Double(syntheticSize) * Double(syntheticSize) > Double(1 << 31) {
            return "--synthetic-count \(syntheticCount) of \(syntheticSize)² images exceeds the limit of 2^31 pixels in all"
        }
        if let crop, crop > 16384 { return "--crop must be at most 16384, got \(crop)" }
        if let borderWeight {
            if !(borderWeight >= 0 && borderWeight <= 1000) { return "--border-weight must be between 0 and 1000, got \(borderWeight)" }
            if resolvedLoss != .bce && resolvedLoss != .bceDice { return "--border-weight needs --classes 1 and the bce or bce+dice loss" }
        }
        if !augment, let chosen = [("--elastic", elastic), ("--rotate", rotate), ("--scale", scale), ("--intensity", intensity)].first(where: { $0.1 == true }) {
            return "\(chosen.0) needs augmentation, which --no-augment turns off"
        }
        if let problem = UNetConfiguration(classes: classes, width: width, depth: depth, bilinear: bilinear).problem { return problem }
        return resolvedLoss.problem(classes: classes)
    }
}
