import Foundation

/// A minimal SVG line chart: each series drawn over evenly spaced points, scaled to its
/// own vertical range, with axes, labels and a legend. Used for `curves.svg` and
/// `encoder.svg`.
struct LineChart {
    /// One line: its values, the value drawn at the top edge, and how it looks.
    struct Series {
        let name: String
        let values: [Double]
        let top: Double
        let colour: String
    }

    let xLabel: String
    let yLabel: String
    let series: [Series]
    var note: String?
    var width = 680.0, height = 360.0, margin = 50.0

    var svg: String {
        let count = max(series.map(\.values.count).max() ?? 2, 2)
        func point(_ index: Int, _ value: Double, top: Double) -> String {
            let scaled = value.isFinite ? min(max(value / max(top, 1e-12), 0), 1) : 0
            return String(format: "%.1f,%.1f", margin + (width - 2 * margin) * Double(index) / Double(count - 1),
                          height - margin - (height - 2 * margin) * scaled)
        }
        let lines = series.map { line in
            let points = line.values.enumerated().map { point($0.offset, $0.element, top: line.top) }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(line.colour)\" stroke-width=\"1.8\" points=\"\(points)\"/>"
        }
        let legend = series.enumerated().map { index, line in
            "<text x=\"\(Int(margin) + 10)\" y=\"\(Int(margin) + 16 * index + 12)\" fill=\"\(line.colour)\" font-size=\"12\">\(line.name)</text>"
        }
        return ([
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<line x1=\"\(margin)\" y1=\"\(height - margin)\" x2=\"\(width - margin)\" y2=\"\(height - margin)\" stroke=\"black\"/>",
            "<line x1=\"\(margin)\" y1=\"\(margin)\" x2=\"\(margin)\" y2=\"\(height - margin)\" stroke=\"black\"/>",
            "<text x=\"\(width / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\" font-size=\"12\">\(xLabel)</text>",
            "<text x=\"10\" y=\"\(margin - 20)\" font-size=\"12\">\(yLabel)</text>",
        ] + lines + legend + (note.map { ["<text x=\"\(width - margin)\" y=\"\(margin - 20)\" text-anchor=\"end\" font-size=\"12\">\($0)</text>"] } ?? [])
            + ["</svg>"]).joined(separator: "\n")
    }
}
