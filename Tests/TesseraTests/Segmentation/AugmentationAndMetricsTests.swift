import Foundation
import Testing
import Tessera
import TesseraSegmentation

@Suite("augmentation and metrics")
struct AugmentationAndMetricsTests {
    @Test("crops, flips and rotations move image and mask together and lose no pixel of the crop")
    func augmentationIsConsistent() {
        // Every pixel's value encodes its position; the mask holds the same code.
        let side = 12
        let image = Tensor(shape: [1, side, side], scalars: (0..<(side * side)).map(Float.init))
        let sample = SegmentationSample(name: "grid", image: image, labels: (0..<(side * side)).map(Int32.init))
        var generator = RandomGenerator(seed: 4)
        let augmentation = Augmentation(cropSize: 8, flipsAndRotations: true)
        for _ in 0..<40 {
            let (output, labels) = augmentation.apply(to: sample, using: &generator)
            #expect(output.shape == [1, 8, 8])
            #expect(output.scalars.map { Int32($0) } == labels)
            // The pixels form one 8×8 window of the grid.
            let rows = Set(labels.map { $0 / Int32(side) }), columns = Set(labels.map { $0 % Int32(side) })
            #expect(rows.count == 8 && columns.count == 8 && Set(labels).count == 64)
            #expect(rows.max()! - rows.min()! == 7 && columns.max()! - columns.min()! == 7)
        }
    }

    /// A 64×64 image of 6×6-pixel squares of 0 and 1 (two channels, the second inverted),
    /// with the first channel's threshold as its mask.
    private static func checkerboard() -> SegmentationSample {
        let side = 64
        var pixels = [Float](repeating: 0, count: 2 * side * side)
        for y in 0..<side {
            for x in 0..<side {
                let value: Float = (y / 6 + x / 6 + (y / 18) * (x / 30)) % 2 == 0 ? 0 : 1
                (pixels[y * side + x], pixels[side * side + y * side + x]) = (value, 1 - value)
            }
        }
        return SegmentationSample(name: "checkerboard", image: Tensor(shape: [2, side, side], scalars: pixels),
                                  labels: pixels.prefix(side * side).map { $0 > 0.5 ? 1 : 0 })
    }

    @Test("elastic deformation, rotation and zoom keep the mask on the image", arguments: ["elastic", "rotation", "zoom", "all"])
    func warpsKeepMaskAligned(kind: String) {
        let sample = Self.checkerboard()
        var augmentation = Augmentation(cropSize: 32, flipsAndRotations: true)
        if kind == "elastic" || kind == "all" { augmentation.elastic = .init(grid: 3, sigma: 10) }
        if kind == "rotation" || kind == "all" { augmentation.rotation = true }
        if kind == "zoom" || kind == "all" { augmentation.scaling = 0.8...1.25 }
        var generator = RandomGenerator(seed: 9)
        var (checked, interpolated) = (0, 0)
        for _ in 0..<20 {
            let (image, labels) = augmentation.apply(to: sample, using: &generator)
            #expect(image.shape == [2, 32, 32] && labels.count == 32 * 32)
            let first = Array(image.scalars.prefix(32 * 32)), second = Array(image.scalars.suffix(32 * 32))
            for (index, value) in first.enumerated() {
                #expect(abs(value + second[index] - 1) < 1e-5, "channels moved apart at \(index)")
                // Where bilinear reading found four equal neighbours, the nearest one is one of them.
                if value == 0 || value == 1 {
                    checked += 1
                    #expect(labels[index] == Int32(value), "mask \(labels[index]) under image \(value) at \(index)")
                } else {
                    interpolated += 1
                }
            }
        }
        // The warp did resample (some pixels fall between squares), and most pixels were checked.
        #expect(interpolated > 0 && checked > 15 * interpolated / 10, "checked \(checked), interpolated \(interpolated)")
    }

    @Test("every augmentation is reproducible from its seed and intensity jitter leaves the mask alone")
    func augmentationsAreReproducible() {
        let sample = Self.checkerboard()
        var all = Augmentation(cropSize: 32, flipsAndRotations: true)
        (all.elastic, all.rotation, all.scaling, all.intensity) = (.init(), true, 0.8...1.25, true)
        var (a, b, c) = (RandomGenerator(seed: 5), RandomGenerator(seed: 5), RandomGenerator(seed: 6))
        let (first, second, other) = (all.apply(to: sample, using: &a), all.apply(to: sample, using: &b), all.apply(to: sample, using: &c))
        #expect(first.image == second.image && first.labels == second.labels)
        #expect(first.image != other.image)
        var geometric = all
        geometric.intensity = false
        var d = RandomGenerator(seed: 5)
        let withoutIntensity = geometric.apply(to: sample, using: &d)
        #expect(withoutIntensity.labels == first.labels)
        #expect(all.extras == ["elastic", "rotation", "zoom", "intensity"])
    }

    @Test("border weights peak in the gap between two touching squares and equal a brute-force computation")
    func borderWeights() {
        // Two 8×8 squares one background pixel apart, in a 24×30 mask.
        let (height, width) = (24, 30)
        var labels = [Int32](repeating: 0, count: height * width)
        for y in 8..<16 {
            for x in 5..<13 { labels[y * width + x] = 1 }
            for x in 14..<22 { labels[y * width + x] = 1 }
        }
        let border = BorderWeights(w0: 10, sigma: 5)
        let weights = border.map(labels: labels, height: height, width: width)
        let foreground: Float = 128 / Float(height * width)
        let backgroundWeight: Float = 1 / (2 * (1 - foreground)), foregroundWeight: Float = 1 / (2 * foreground)
        // In the gap d1 = d2 = 1: the largest weight, w_c + 10·e^(−4/50).
        let gapWeight: Float = backgroundWeight + 10 * Foundation.exp(Float(-4) / 50)
        #expect(abs(weights[11 * width + 13] - gapWeight) < 1e-4)
        #expect(weights.max()! == weights[11 * width + 13])
        #expect(abs(weights[10 * width + 8] - foregroundWeight) < 1e-6)
        // Brute force: each object's distance by search over its pixels.
        let objects = [(5..<13), (14..<22)].map { columns in (8..<16).flatMap { y in columns.map { (y, $0) } } }
        for pixel in labels.indices where labels[pixel] == 0 {
            let (y, x) = (pixel / width, pixel % width)
            let d: [Float] = objects.map { object in
                object.map { (point: (Int, Int)) -> Float in Float((point.0 - y) * (point.0 - y) + (point.1 - x) * (point.1 - x)).squareRoot() }.min()!
            }.sorted()
            let gap: Float = d[0] + d[1]
            let expected: Float = backgroundWeight + 10 * Foundation.exp(-gap * gap / 50)
            #expect(abs(weights[pixel] - expected) < 2e-3, "pixel (\(y), \(x)): \(weights[pixel]) vs \(expected)")
        }
    }

    @Test("coordinates beyond the border are mirrored about the edge pixels")
    func mirroring() {
        #expect([-2, -0.5, 0, 3.5, 4, 5, 9].map { Augmentation.mirrored(Float($0), size: 5) } == [2, 0.5, 0, 3.5, 4, 3, 1])
        #expect(Augmentation.mirrored(7, size: 1) == 0)
    }

    @Test("Dice, IoU, accuracy, precision and recall match hand-computed values")
    func metrics() {
        var metrics = SegmentationMetrics(labelCount: 2)
        // TP = 2, FP = 1, FN = 1, TN = 2.
        metrics.add(predicted: [1, 1, 1, 0, 0, 0], truth: [1, 1, 0, 1, 0, 0])
        #expect(metrics.dice == 4.0 / 6.0)
        #expect(metrics.iou == 0.5)
        #expect(metrics.pixelAccuracy == 4.0 / 6.0)
        #expect(metrics.precision == 2.0 / 3.0 && metrics.recall == 2.0 / 3.0)
    }

    @Test("empty prediction and empty truth give Dice 1; disjoint ones give 0; never NaN")
    func emptyCases() {
        var empty = SegmentationMetrics(labelCount: 2)
        empty.add(predicted: [0, 0, 0], truth: [0, 0, 0])
        #expect(empty.dice == 1 && empty.iou == 1 && empty.pixelAccuracy == 1)
        var disjoint = SegmentationMetrics(labelCount: 2)
        disjoint.add(predicted: [1, 0], truth: [0, 1])
        #expect(disjoint.dice == 0 && disjoint.iou == 0)
        var noPrediction = SegmentationMetrics(labelCount: 2)
        noPrediction.add(predicted: [0, 0], truth: [1, 0])
        #expect(noPrediction.dice == 0 && !noPrediction.precision.isNaN)
    }

    @Test("multi-class scores average the non-background classes")
    func multiClass() {
        var metrics = SegmentationMetrics(labelCount: 3)
        metrics.add(predicted: [0, 1, 2, 2], truth: [0, 1, 1, 2])
        // Class 1: TP 1, FN 1 → Dice 2/3. Class 2: TP 1, FP 1 → Dice 2/3.
        #expect(abs(metrics.dice - 2.0 / 3.0) < 1e-12)
        #expect(metrics.classes.count == 3 && metrics.pixelAccuracy == 0.75)
    }
}
