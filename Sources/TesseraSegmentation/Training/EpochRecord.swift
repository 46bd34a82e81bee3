import Foundation

/// One row of `metrics.csv`: what an epoch of training measured.
public struct EpochRecord: Equatable, Sendable {
    public var epoch: Int
    public var step: Int
    public var seconds: Double
    public var learningRate: Float
    public var trainLoss: Double
    public var validationLoss: Double
    public var validationDice: Double
    public var validationIoU: Double
    public var validationAccuracy: Double
    /// Mean gradient norm over the epoch's steps, per block (`inc`, `down1`, …, `outc`)
    /// and for the encoder and decoder as wholes, in column order.
    public var gradientNorms: [(String, Double)]
    /// Validation Dice of each non-background class (multi-class models only).
    public var classDice: [Double]

    public static func == (lhs: EpochRecord, rhs: EpochRecord) -> Bool {
        lhs.csvRow == rhs.csvRow
    }

    /// The CSV header for records with these gradient columns and class count.
    public static func csvHeader(gradientColumns: [String], classDiceColumns: Int) -> String {
        (["epoch", "step", "seconds", "lr", "train_loss", "val_loss", "val_dice", "val_iou", "val_accuracy"]
            + gradientColumns.map { "grad_norm_\($0)" } + (0..<classDiceColumns).map { "val_dice_class\($0 + 1)" })
            .joined(separator: ",")
    }

    /// The record as a CSV line (fixed precision, so equal runs give equal text; the
    /// wall-clock seconds are the only column that differs between equal runs).
    public var csvRow: String {
        ([String(epoch), String(step), String(format: "%.1f", seconds), String(format: "%.6g", learningRate)]
            + [trainLoss, validationLoss, validationDice, validationIoU, validationAccuracy].map { String(format: "%.6f", $0) }
            + gradientNorms.map { String(format: "%.6g", $0.1) } + classDice.map { String(format: "%.6f", $0) })
            .joined(separator: ",")
    }

    /// Parses a line written by ``csvRow`` under `header`.
    public init?(csvRow line: String, header: String) {
        let names = header.split(separator: ",").map(String.init)
        let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == names.count, fields.count >= 9,
              let epoch = Int(fields[0]), let step = Int(fields[1]), let seconds = Double(fields[2]), let rate = Float(fields[3])
        else { return nil }
        let numbers = fields[4...].map { Double($0) }
        guard numbers.allSatisfy({ $0 != nil }) else { return nil }
        let values = numbers.map { $0! }
        self.epoch = epoch
        self.step = step
        self.seconds = seconds
        learningRate = rate
        (trainLoss, validationLoss, validationDice, validationIoU, validationAccuracy) = (values[0], values[1], values[2], values[3], values[4])
        gradientNorms = zip(names[9...], values[5...]).filter { $0.0.hasPrefix("grad_norm_") }
            .map { (String($0.0.dropFirst("grad_norm_".count)), $0.1) }
        classDice = zip(names[9...], values[5...]).filter { $0.0.hasPrefix("val_dice_class") }.map(\.1)
    }

    public init(
        epoch: Int, step: Int, seconds: Double, learningRate: Float, trainLoss: Double, validationLoss: Double,
        validationDice: Double, validationIoU: Double, validationAccuracy: Double,
        gradientNorms: [(String, Double)], classDice: [Double]
    ) {
        (self.epoch, self.step, self.seconds, self.learningRate) = (epoch, step, seconds, learningRate)
        (self.trainLoss, self.validationLoss, self.validationDice) = (trainLoss, validationLoss, validationDice)
        (self.validationIoU, self.validationAccuracy) = (validationIoU, validationAccuracy)
        (self.gradientNorms, self.classDice) = (gradientNorms, classDice)
    }
}
