import Foundation
import Tessera

/// The training losses on U-Net logits: binary cross-entropy or cross-entropy, soft Dice,
/// or their sum (Pytorch-UNet's recipe).
public enum SegmentationLoss: String, Codable, CaseIterable, Sendable {
    case bce, ce, dice
    case bceDice = "bce+dice"
    case ceDice = "ce+dice"

    /// The default for a class count: `bce+dice` for binary, `ce+dice` otherwise.
    public static func standard(classes: Int) -> SegmentationLoss { classes == 1 ? .bceDice : .ceDice }

    /// Whether the loss fits a model with `classes` outputs; otherwise why not.
    public func problem(classes: Int) -> String? {
        switch self {
        case .bce, .bceDice: classes == 1 ? nil : "\(rawValue) needs --classes 1; use ce or ce+dice for \(classes) classes"
        case .ce, .ceDice: classes > 1 ? nil : "\(rawValue) needs --classes ≥ 2; use bce or bce+dice for binary masks"
        case .dice: nil
        }
    }

    /// The loss of `logits` `[N, classes, H, W]` against the batch's labels (differentiable).
    ///
    /// - Parameter weights: per-pixel weights `[N, 1, H, W]` of the binary cross-entropy
    ///   (``BorderWeights``); only for `bce` and `bce+dice`.
    public func callAsFunction(_ logits: Tensor, _ batch: Batch, weights: Tensor? = nil) -> Tensor {
        let classes = logits.shape[1]
        require(weights == nil || self == .bce || self == .bceDice, "SegmentationLoss: pixel weights need bce or bce+dice, not \(rawValue)")
        switch self {
        case .bce:
            return binaryCrossEntropyWithLogits(logits, batch.binaryTargets, weights: weights)
        case .ce:
            return crossEntropy(logits, batch.labels)
        case .dice:
            return classes == 1
                ? softDiceLoss(sigmoid(logits), batch.binaryTargets)
                : softDiceLoss(softmax(logits), batch.oneHotTargets(classes: classes))
        case .bceDice:
            let targets = batch.binaryTargets
            return binaryCrossEntropyWithLogits(logits, targets, weights: weights) + softDiceLoss(sigmoid(logits), targets)
        case .ceDice:
            return crossEntropy(logits, batch.labels) + softDiceLoss(softmax(logits), batch.oneHotTargets(classes: classes))
        }
    }
}

/// Turning logits into per-pixel classes and probabilities.
public enum SegmentationOutput {
    /// Class per pixel of `[N, classes, H, W]` logits: foreground where the sigmoid exceeds
    /// `threshold` for one output, otherwise the arg-max over classes.
    public static func labels(logits: Tensor, threshold: Float = 0.5) -> [Int32] {
        let (batch, classes, plane) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
        let values = logits.scalars
        if classes == 1 {
            let cut = log(threshold / (1 - threshold))
            return values.map { $0 > cut ? 1 : 0 }
        }
        var labels = [Int32](repeating: 0, count: batch * plane)
        for image in 0..<batch {
            for pixel in 0..<plane {
                var best = 0
                for c in 1..<classes where values[(image * classes + c) * plane + pixel] > values[(image * classes + best) * plane + pixel] {
                    best = c
                }
                labels[image * plane + pixel] = Int32(best)
            }
        }
        return labels
    }

    /// Probabilities: the sigmoid for one output, the softmax over classes otherwise.
    public static func probabilities(logits: Tensor) -> Tensor {
        logits.shape[1] == 1 ? Activation.sigmoid(logits) : ChannelSoftmax.softmax(logits)
    }
}
