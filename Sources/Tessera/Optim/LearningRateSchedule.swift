import Foundation

/// A learning rate as a function of the epoch, applied with ``apply(to:epoch:)``.
public protocol LearningRateSchedule {
    /// The learning rate for `epoch` (counting from 0).
    func learningRate(epoch: Int) -> Float
}

extension LearningRateSchedule {
    /// Sets `optimizer`'s learning rate for `epoch`.
    public func apply(to optimizer: Optimizer, epoch: Int) {
        optimizer.learningRate = learningRate(epoch: epoch)
    }
}

/// `base · γ^⌊epoch / stepSize⌋`, as PyTorch's `StepLR`.
public struct StepSchedule: LearningRateSchedule {
    public let base: Float, stepSize: Int, gamma: Float

    public init(base: Float, stepSize: Int, gamma: Float = 0.1) {
        require(stepSize > 0, "StepSchedule: step size must be positive, got \(stepSize)")
        (self.base, self.stepSize, self.gamma) = (base, stepSize, gamma)
    }

    public func learningRate(epoch: Int) -> Float {
        base * pow(gamma, Float(epoch / stepSize))
    }
}

/// `min + (base − min) · (1 + cos(π · epoch / length)) / 2`, as PyTorch's
/// `CosineAnnealingLR` (closed form), constant at `minimum` after `length` epochs.
public struct CosineSchedule: LearningRateSchedule {
    public let base: Float, length: Int, minimum: Float

    public init(base: Float, length: Int, minimum: Float = 0) {
        require(length > 0, "CosineSchedule: length must be positive, got \(length)")
        (self.base, self.length, self.minimum) = (base, length, minimum)
    }

    public func learningRate(epoch: Int) -> Float {
        let progress = Float(min(epoch, length)) / Float(length)
        return minimum + (base - minimum) * (1 + cos(Float.pi * progress)) / 2
    }
}

/// Multiplies the learning rate by `factor` when a metric has not improved (by a relative
/// `threshold`) for more than `patience` epochs, as PyTorch's `ReduceLROnPlateau`.
public struct PlateauSchedule: Sendable, Codable, Equatable {
    /// Whether larger metric values are better (Dice) or smaller ones (loss).
    public enum Goal: String, Sendable, Codable { case maximize, minimize }

    public let goal: Goal, factor: Float, patience: Int, threshold: Float, minimum: Float
    public private(set) var best: Float?
    public private(set) var badEpochs = 0

    public init(goal: Goal, factor: Float = 0.1, patience: Int = 10, threshold: Float = 1e-4, minimum: Float = 0) {
        require(factor > 0 && factor < 1, "PlateauSchedule: factor must be in (0, 1), got \(factor)")
        (self.goal, self.factor, self.patience, self.threshold, self.minimum) = (goal, factor, patience, threshold, minimum)
    }

    /// Records the epoch's metric and lowers `optimizer`'s learning rate on a plateau.
    public mutating func step(metric: Float, optimizer: Optimizer) {
        let improved = best.map { goal == .maximize ? metric > $0 * (1 + threshold) : metric < $0 * (1 - threshold) } ?? true
        if improved {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
            if badEpochs > patience {
                optimizer.learningRate = max(optimizer.learningRate * factor, minimum)
                badEpochs = 0
            }
        }
    }
}
