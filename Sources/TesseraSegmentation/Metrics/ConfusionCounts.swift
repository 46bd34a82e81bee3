import Tessera

/// Pixel counts of one class: true/false positives and negatives, summed over images.
public struct ConfusionCounts: Equatable, Sendable, Codable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var trueNegatives = 0

    public init() {}

    /// `2TP / (2TP + FP + FN)`; 1 when the class is absent from both prediction and truth.
    public var dice: Double {
        let denominator = 2 * truePositives + falsePositives + falseNegatives
        return denominator == 0 ? 1 : Double(2 * truePositives) / Double(denominator)
    }

    /// `TP / (TP + FP + FN)`; 1 when the class is absent from both prediction and truth.
    public var iou: Double {
        let denominator = truePositives + falsePositives + falseNegatives
        return denominator == 0 ? 1 : Double(truePositives) / Double(denominator)
    }

    /// `TP / (TP + FP)`; 1 when nothing was predicted as this class.
    public var precision: Double {
        truePositives + falsePositives == 0 ? 1 : Double(truePositives) / Double(truePositives + falsePositives)
    }

    /// `TP / (TP + FN)`; 1 when the class is absent from the truth.
    public var recall: Double {
        truePositives + falseNegatives == 0 ? 1 : Double(truePositives) / Double(truePositives + falseNegatives)
    }
}

/// Segmentation quality over a set of images: per-class counts and pixel accuracy.
///
/// For a binary model the headline Dice and IoU are the foreground class's; for several
/// classes they are the mean over the non-background classes (class 0 is background).
public struct SegmentationMetrics: Equatable, Sendable {
    /// Counts per label (2 for binary: background, foreground).
    public private(set) var classes: [ConfusionCounts]
    public private(set) var correctPixels = 0
    public private(set) var totalPixels = 0
    public private(set) var images = 0

    public init(labelCount: Int) {
        classes = Array(repeating: ConfusionCounts(), count: max(2, labelCount))
    }

    /// Adds one image's predicted and true labels.
    public mutating func add(predicted: [Int32], truth: [Int32]) {
        require(predicted.count == truth.count, "SegmentationMetrics: \(predicted.count) predictions for \(truth.count) labels")
        var matrix = [Int](repeating: 0, count: classes.count * classes.count)
        for (p, t) in zip(predicted, truth) { matrix[Int(t) * classes.count + Int(p)] += 1 }
        for c in classes.indices {
            var counts = classes[c]
            let tp = matrix[c * classes.count + c]
            let row = (0..<classes.count).reduce(0) { $0 + matrix[c * classes.count + $1] }
            let column = (0..<classes.count).reduce(0) { $0 + matrix[$1 * classes.count + c] }
            counts.truePositives += tp
            counts.falseNegatives += row - tp
            counts.falsePositives += column - tp
            counts.trueNegatives += predicted.count - row - column + tp
            classes[c] = counts
            correctPixels += tp
        }
        totalPixels += predicted.count
        images += 1
    }

    /// Every count in one array (true/false positives/negatives of each class, then the
    /// correct, total and image counts): what a reduction over processes sums.
    public var flattenedCounts: [Int] {
        classes.flatMap { [$0.truePositives, $0.falsePositives, $0.falseNegatives, $0.trueNegatives] }
            + [correctPixels, totalPixels, images]
    }

    /// The metrics whose ``flattenedCounts`` are `counts`.
    public init(labelCount: Int, flattenedCounts counts: [Int]) {
        self.init(labelCount: labelCount)
        require(counts.count == 4 * classes.count + 3, "SegmentationMetrics: \(counts.count) counts for \(classes.count) classes")
        for c in classes.indices {
            classes[c].truePositives = counts[4 * c]
            classes[c].falsePositives = counts[4 * c + 1]
            classes[c].falseNegatives = counts[4 * c + 2]
            classes[c].trueNegatives = counts[4 * c + 3]
        }
        (correctPixels, totalPixels, images) = (counts[4 * classes.count], counts[4 * classes.count + 1], counts[4 * classes.count + 2])
    }

    /// The classes the headline scores average over: all but background.
    private var scoredClasses: ArraySlice<ConfusionCounts> { classes.dropFirst() }

    public var dice: Double { scoredClasses.map(\.dice).reduce(0, +) / Double(scoredClasses.count) }
    public var iou: Double { scoredClasses.map(\.iou).reduce(0, +) / Double(scoredClasses.count) }
    public var precision: Double { scoredClasses.map(\.precision).reduce(0, +) / Double(scoredClasses.count) }
    public var recall: Double { scoredClasses.map(\.recall).reduce(0, +) / Double(scoredClasses.count) }

    /// Fraction of pixels whose predicted class is right (1 for no pixels).
    public var pixelAccuracy: Double { totalPixels == 0 ? 1 : Double(correctPixels) / Double(totalPixels) }
}
