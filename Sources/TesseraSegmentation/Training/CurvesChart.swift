import Foundation

/// `curves.svg`: training and validation loss, and validation Dice, per epoch.
enum CurvesChart {
    static func svg(_ records: [EpochRecord]) -> String {
        let (width, height, margin) = (640.0, 360.0, 48.0)
        let epochs = records.map { Double($0.epoch) }
        let maxEpoch = max(epochs.max() ?? 1, 1)
        let losses = records.flatMap { [$0.trainLoss, $0.validationLoss] }.filter(\.isFinite)
        let maxLoss = max(losses.max() ?? 1, 1e-6)
        func x(_ epoch: Double) -> Double { margin + (width - 2 * margin) * (epoch - 1) / max(maxEpoch - 1, 1) }
        func y(_ value: Double, top: Double) -> Double { height - margin - (height - 2 * margin) * min(max(value / top, 0), 1) }
        func line(_ values: [Double], top: Double, colour: String) -> String {
            let points = zip(epochs, values).map { String(format: "%.1f,%.1f", x($0.0), y($0.1, top: top)) }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"/>"
        }
        let legend = [("train loss", "#1f77b4"), ("val loss", "#ff7f0e"), ("val Dice (right axis, 0–1)", "#2ca02c")]
            .enumerated().map { index, item in
                "<text x=\"\(Int(margin) + 10)\" y=\"\(Int(margin) + 16 * index + 12)\" fill=\"\(item.1)\" font-size=\"12\">\(item.0)</text>"
            }.joined(separator: "\n")
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <line x1="\(margin)" y1="\(height - margin)" x2="\(width - margin)" y2="\(height - margin)" stroke="black"/>
        <line x1="\(margin)" y1="\(margin)" x2="\(margin)" y2="\(height - margin)" stroke="black"/>
        <line x1="\(width - margin)" y1="\(margin)" x2="\(width - margin)" y2="\(height - margin)" stroke="black"/>
        <text x="\(width / 2)" y="\(height - 12)" text-anchor="middle" font-size="12">epoch (1–\(Int(maxEpoch)))</text>
        <text x="12" y="\(margin - 12)" font-size="12">loss (0–\(String(format: "%.3g", maxLoss)))</text>
        \(line(records.map(\.trainLoss), top: maxLoss, colour: "#1f77b4"))
        \(line(records.map(\.validationLoss), top: maxLoss, colour: "#ff7f0e"))
        \(line(records.map(\.validationDice), top: 1, colour: "#2ca02c"))
        \(legend)
        </svg>
        """
    }
}
