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
