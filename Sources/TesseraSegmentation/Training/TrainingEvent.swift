import Foundation

/// What a ``Trainer`` reports while it runs.
public enum TrainingEvent: Sendable {
    /// A line describing the run before the first step.
    case started(String)
    /// After every optimizer step.
    case step(StepProgress)
    /// After each epoch's validation and checkpoint.
    case epochFinished(EpochRecord)
}

/// The state of training after one step.
public struct StepProgress: Sendable {
    public let epoch: Int
    public let stepInEpoch: Int
    public let stepsPerEpoch: Int
    /// Optimizer steps so far, over all epochs.
    public let step: Int
    public let loss: Double
    /// Dice of the batch's thresholded prediction.
    public let dice: Double
    public let imagesPerSecond: Double
    /// Estimated seconds until training ends.
    public let secondsRemaining: Double
}

/// How a training run ended.
public struct TrainingSummary: Sendable {
    public let runFolder: URL
    public let records: [EpochRecord]
    public let bestDice: Double
    /// Why training stopped: all epochs done, step limit, or time limit.
    public let stopReason: String
}

/// A training run that cannot start or continue.
public struct TrainingError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    /// Whether the input (options, data, files) is at fault rather than the run itself
    /// (a loss that became NaN).
    public let isBadInput: Bool

    public init(_ reason: String, isBadInput: Bool = true) {
        self.reason = reason
        self.isBadInput = isBadInput
    }

    public var description: String { reason }
}
