import Foundation
import Tessera

/// A training configuration chosen from a dataset's fingerprint and a CPU time budget, as
/// nnU-Net plans its configurations from a fingerprint and GPU memory: crop, batch size,
/// depth and width, with the augmentation, border weight and schedule that measured best
/// (docs/training.md), each with the reason it was chosen. `tessera train --auto` prints it and trains with it.
public struct TrainingPlan: Sendable, Equatable {
    public var crop: Int
    public var batchSize: Int
    public var depth: Int
    public var width: Int
    public var elastic: Bool, rotate: Bool, scale: Bool, intensity: Bool
    public var borderWeight: Float?
    public var schedule: TrainingConfiguration.ScheduleKind
    /// One line per choice: what was chosen and why.
    public private(set) var reasons: [String] = []

    /// The crop side the plan starts from: the standard recipe's, measured on ISBI 2012.
    public static let standardCrop = 256
    /// The standard recipe's batch at ``standardCrop``; smaller crops get larger batches
    /// of the same pixel count.
    public static let standardBatch = 4
    /// Optimizer steps a time budget must allow for a wider network to be chosen: the
    /// standard recipe on ISBI 2012 levels off after about this many (docs/training.md).
    public static let stepsToLevelOff = 1000
    /// The deepest feature map keeps at least this many pixels across (nnU-Net stops
    /// pooling at 4–8; a little more keeps the bottleneck's 3×3 convolutions off the padding).
    public static let smallestFeatureMap = 16
    /// Gaps narrower than 2σ hold at least this share of the background before the plan
    /// suggests the border weight map.
    public static let narrowGapShare = 0.25

    /// Plans for `fingerprint` with `classes` (1: binary) and an optional time budget.
    /// `secondsPerStep` measures one optimizer step of a model, batch and crop on this
    /// machine; it is called only with a time budget, for the narrowest candidate width.
    public init(
        fingerprint: DatasetFingerprint, classes: Int, timeLimitMinutes: Double?,
        secondsPerStep: (UNetConfiguration, _ batch: Int, _ crop: Int) -> Double
    ) {
        let objectSpan = Int((3 * fingerprint.medianObjectDiameter).rounded(.up))
        let side = min(fingerprint.smallestSide, max(Self.standardCrop, objectSpan))
        depth = Self.depth(forCrop: side, objectDiameter: fingerprint.medianObjectDiameter)
        crop = side / (1 << depth) * (1 << depth)
        reasons.append(
            side < Self.standardCrop
                ? "crop \(crop)²: the smallest image (\(fingerprint.smallestSide) px across)"
                : side > Self.standardCrop
                    ? "crop \(crop)²: three median objects across (\(Self.format(fingerprint.medianObjectDiameter)) px each)"
                    : "crop \(crop)²: the standard crop, which holds three median objects (\(Self.format(fingerprint.medianObjectDiameter)) px) or more")
        let receptiveField = ModelSummary(configuration: UNetConfiguration(depth: depth), inputSize: crop).receptiveField
        reasons.append(
            "depth \(depth): receptive field \(receptiveField) px, deepest map \(crop >> depth) px across (at least \(Self.smallestFeatureMap))"
                + (depth == 5 ? ", for objects wider than half of depth 4's receptive field" : ""))
        let scaled = Double(Self.standardBatch) * Double(Self.standardCrop * Self.standardCrop) / Double(crop * crop)
        batchSize = min(32, max(2, Int(scaled.rounded())))
        reasons.append(
            batchSize == Self.standardBatch
                ? "batch \(batchSize): the standard batch"
                : "batch \(batchSize): as many pixels per step as \(Self.standardBatch) crops of \(Self.standardCrop)² (at least 2 for batch norm, at most 32)")
        let (depth, crop) = (depth, crop)
        width = 16
        if let minutes = timeLimitMinutes {
            let seconds = secondsPerStep(UNetConfiguration(inputChannels: fingerprint.channels, classes: classes, width: 16, depth: depth), batchSize, crop)
            let cost = { (width: Int) in
                Double(ModelSummary(configuration: UNetConfiguration(width: width, depth: depth), inputSize: crop).multiplyAccumulates)
            }
            let steps = { (width: Int) in Int(minutes * 60 / (seconds * cost(width) / cost(16))) }
            width = [64, 32].first { steps($0) >= Self.stepsToLevelOff } ?? 16
            reasons.append(
                "width \(width): one step of width 16 took \(Self.format(seconds * 1000)) ms here, so \(Self.format(minutes)) min allow about "
                    + "\(steps(width)) steps at width \(width)" + (width < 64 ? " (\(steps(width * 2)) at width \(width * 2))" : "")
                    + (steps(width) >= Self.stepsToLevelOff
                        ? "; the widest with at least \(Self.stepsToLevelOff)" : "; the narrowest, though short of \(Self.stepsToLevelOff)"))
        } else {
            reasons.append("width 16: the standard width (no --time-limit to plan a wider one for)")
        }
        (elastic, rotate, scale, intensity) = (false, false, false, false)
        reasons.append(
            "flips and quarter turns only: in 15-minute runs on ISBI 2012 no extra augmentation paid for itself (docs/training.md); "
                + "--elastic, --rotate, --scale and --intensity are worth trying with far longer budgets")
        borderWeight = nil
        reasons.append(
            classes == 1
                ? "no border weight: on ISBI 2012 it cost 1.8 points of pixel accuracy (docs/training.md); "
                    + "\(Self.format(100 * fingerprint.narrowGapFraction)) % of this background lies in gaps narrower than "
                    + "\(Self.format(Double(DatasetFingerprint.gapWidth))) px between objects"
                    + (fingerprint.narrowGapFraction >= Self.narrowGapShare ? ", so --border-weight 10 may help separate touching objects" : "")
                : "no border weight: it is defined for binary masks")
        schedule = .none
        reasons.append("constant learning rate: on ISBI 2012 the recipe scored 1.5 points higher without the poly schedule in 15 minutes (docs/training.md)")
    }

    /// The deepest U-Net that keeps ``smallestFeatureMap`` pixels across at its bottom, up
    /// to 4 (the standard depth), or 5 for objects wider than half of depth 4's receptive field.
    static func depth(forCrop side: Int, objectDiameter: Double) -> Int {
        let deepest = (2...5).last { side >> $0 >= smallestFeatureMap } ?? 2
        let field = ModelSummary(configuration: UNetConfiguration(depth: 4), inputSize: max(side, 16)).receptiveField
        return min(deepest, 2 * objectDiameter > Double(field) ? 5 : 4)
    }

    /// Writes the plan into `configuration`.
    public func apply(to configuration: inout TrainingConfiguration) {
        configuration.crop = crop
        configuration.batchSize = batchSize
        configuration.depth = depth
        configuration.width = width
        (configuration.elastic, configuration.rotate, configuration.scale, configuration.intensity) = (elastic, rotate, scale, intensity)
        configuration.borderWeight = borderWeight
        configuration.schedule = schedule
    }

    /// The slower of two optimizer steps (after a warm-up step) of `configuration` on
    /// random images and masks: forward, binary cross-entropy, backward and Adam.
    public static func measuredSecondsPerStep(_ configuration: UNetConfiguration, batch: Int, crop: Int) -> Double {
        var generator = RandomGenerator(seed: 0)
        let model = UNet(configuration, generator: &generator)
        let optimizer = Adam(learningRate: 1e-3)
        let images = Tensor.uniform([batch, configuration.inputChannels, crop, crop], using: &generator)
        let targets = Tensor.uniform([batch, configuration.classes, crop, crop], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let clock = ContinuousClock()
        let times = (0..<3).map { _ in
            clock.measure {
                let gradients = valueAndGradient(of: model) { binaryCrossEntropyWithLogits($0(images), targets) }.gradients
                optimizer.update(model, gradients: gradients)
            }
        }
        let seconds = times.dropFirst().map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 }
        return seconds.max()!
    }

    private static func format(_ value: Double) -> String { String(format: value < 10 ? "%.1f" : "%.0f", value) }
}
