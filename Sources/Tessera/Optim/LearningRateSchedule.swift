import Foundation

/// Sets an optimizer's learning rate as training goes on, as PyTorch's schedulers: applied
/// before each epoch (or step) with ``apply(to:epoch:metric:)``, given the validation
/// metric of the epoch before where one was measured.
public protocol LearningRateSchedule {
    /// The rate for `epoch` (counting from 0), given the `current` rate and the `metric`
    /// measured after the epoch before (nil where none was).
    mutating func learningRate(epoch: Int, current: Float, metric: Float?) -> Float
}

extension LearningRateSchedule {
    /// Sets `optimizer`'s learning rate for `epoch`.
    public mutating func apply(to optimizer: Optimizer, epoch: Int, metric: Float? = nil) {
        optimizer.learningRate = learningRate(epoch: epoch, current: optimizer.learningRate, metric: metric)
    }
}

/// A schedule whose rate is a function of the epoch alone.
public protocol ClosedFormSchedule: LearningRateSchedule {
    /// The learning rate for `epoch` (counting from 0).
    func learningRate(epoch: Int) -> Float
}

extension ClosedFormSchedule {
    public func learningRate(epoch: Int, current: Float, metric: Float?) -> Float {
        learningRate(epoch: epoch)
    }
}

/// `base · γ^⌊epoch / stepSize⌋`, as PyTorch's `StepLR`.
public struct StepSchedule: ClosedFormSchedule {
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
public struct CosineSchedule: ClosedFormSchedule {
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

/// `base · (1 − epoch / length)^power`, nnU-Net's "poly" decay (PyTorch's
/// `PolynomialLR`), optionally after a linear warm-up from `base / warmUp` over the first
/// `warmUp` epochs; 0 from `length` on.
public struct PolynomialSchedule: ClosedFormSchedule {
    public let base: Float, length: Int, power: Float, warmUp: Int

    public init(base: Float, length: Int, power: Float = 0.9, warmUp: Int = 0) {
        require(length > 0 && warmUp >= 0 && warmUp < length, "PolynomialSchedule: needs 0 ≤ warm-up \(warmUp) < length \(length)")
        (self.base, self.length, self.power, self.warmUp) = (base, length, power, warmUp)
    }

    public func learningRate(epoch: Int) -> Float {
        if epoch < warmUp { return base * Float(epoch + 1) / Float(warmUp) }
        return base * pow(Float(Swift.max(0, length - epoch)) / Float(length), power)
    }
}

/// Multiplies the learning rate by `factor` when a metric has not improved (by a relative
/// `threshold`) for more than `patience` epochs, as PyTorch's `ReduceLROnPlateau`.
public struct PlateauSchedule: LearningRateSchedule, Sendable, Codable, Equatable {
    /// Whether larger metric values are better (Dice) or smaller ones (loss).
    public enum Goal: String, Sendable, Codable { case maximize, minimize }

    public let goal: Goal, factor: Float, patience: Int, threshold: Float, minimum: Float
    public private(set) var best: Float?
    public private(set) var badEpochs = 0

    public init(goal: Goal, factor: Float = 0.1, patience: Int = 10, threshold: Float = 1e-4, minimum: Float = 0) {
        require(factor > 0 && factor < 1, "PlateauSchedule: factor must be in (0, 1), got \(factor)")
        (self.goal, self.factor, self.patience, self.threshold, self.minimum) = (goal, factor, patience, threshold, minimum)
    }

    /// Records `metric` and lowers the rate on a plateau; without a metric, keeps `current`.
    public mutating func learningRate(epoch: Int, current: Float, metric: Float?) -> Float {
        guard let metric else { return current }
        let improved = best.map { goal == .maximize ? metric > $0 * (1 + threshold) : metric < $0 * (1 - threshold) } ?? true
        if improved {
            best = metric
            badEpochs = 0
            return current
        }
        badEpochs += 1
        guard badEpochs > patience else { return current }
        badEpochs = 0
        return max(current * factor, minimum)
    }
}
