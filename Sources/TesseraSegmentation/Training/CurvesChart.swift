import Foundation

/// `curves.svg`: training and validation loss, and validation Dice, per validation.
enum CurvesChart {
    static func svg(_ records: [EpochRecord]) -> String {
        let losses = records.flatMap { [$0.trainLoss, $0.validationLoss] }.filter(\.isFinite)
        let top = max(losses.max() ?? 1, 1e-6)
        let epochs = "\(records.first?.epoch ?? 1)–\(records.last?.epoch ?? 1)"
        return LineChart(
            xLabel: "epoch (\(epochs))", yLabel: "loss (0–\(String(format: "%.3g", top))); Dice (0–1)",
            series: [
                .init(name: "train loss", values: records.map(\.trainLoss), top: top, colour: "#1f77b4"),
                .init(name: "val loss", values: records.map(\.validationLoss), top: top, colour: "#ff7f0e"),
                .init(name: "val Dice (0–1)", values: records.map(\.validationDice), top: 1, colour: "#2ca02c"),
            ]).svg
    }
}
