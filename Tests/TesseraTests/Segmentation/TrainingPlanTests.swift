import Foundation
import Testing
import Tessera
import TesseraSegmentation

@Suite("dataset fingerprint and training plan")
struct TrainingPlanTests {
    /// A `height`×`width` sample whose mask has the given rectangles as objects (label 1).
    static func sample(_ name: String, height: Int, width: Int, objects: [(rows: Range<Int>, columns: Range<Int>)]) -> SegmentationSample {
        var labels = [Int32](repeating: 0, count: height * width)
        for object in objects {
            for y in object.rows { for x in object.columns { labels[y * width + x] = 1 } }
        }
        return SegmentationSample(name: name, image: Tensor(shape: [1, height, width], repeating: 0.5), labels: labels)
    }

    /// The ISBI 2012 training set's fingerprint (measured: 20 images of 512², 76 % cells,
    /// 133 per image, median diameter 28 px).
    static let isbi = DatasetFingerprint(
        imageCount: 20, channels: 1, medianHeight: 512, medianWidth: 512, smallestSide: 512, foregroundFraction: 0.76,
        medianObjectDiameter: 27.6, objectsPerImage: 117.5, narrowGapFraction: 0.77)

    @Test("the fingerprint counts sizes, objects and the narrow gaps between touching objects")
    func fingerprint() {
        let touching = [(rows: 8..<16, columns: 4..<12), (rows: 8..<16, columns: 13..<21)]
        let dataset = SegmentationDataset(
            samples: [
                Self.sample("touching", height: 32, width: 40, objects: touching),
                Self.sample("alone", height: 32, width: 32, objects: [(rows: 10..<16, columns: 10..<16)]),
            ],
            mapping: .binary)
        let fingerprint = DatasetFingerprint(dataset)
        #expect(fingerprint.imageCount == 2 && fingerprint.channels == 1)
        #expect(fingerprint.medianHeight == 32 && fingerprint.medianWidth == 40 && fingerprint.smallestSide == 32)
        #expect(abs(fingerprint.foregroundFraction - Double(64 + 64 + 36) / Double(32 * 40 + 32 * 32)) < 1e-12)
        #expect(fingerprint.objectsPerImage == 1.5)
        #expect(abs(fingerprint.medianObjectDiameter - (4 * 64 / Double.pi).squareRoot()) < 1e-9)
        // Brute force: background pixels of the first image whose two objects are nearer
        // than 10 px together (the second image has one object, so no gaps).
        func narrow(below limit: Double) -> Int {
            (0..<(32 * 40)).filter { pixel in
                let (y, x) = (pixel / 40, pixel % 40)
                let distances = touching.map { object in
                    object.rows.flatMap { oy in object.columns.map { ox in Double((oy - y) * (oy - y) + (ox - x) * (ox - x)).squareRoot() } }.min()!
                }
                return distances.min()! > 0 && distances.reduce(0, +) < limit
            }.count
        }
        let background = Double(32 * 40 - 128 + 32 * 32 - 36)
        #expect(narrow(below: 9.99) >= 8)
        #expect(fingerprint.narrowGapFraction >= Double(narrow(below: 9.99)) / background)
        #expect(fingerprint.narrowGapFraction <= Double(narrow(below: 10.01)) / background)
    }

    @Test("on ISBI 2012 the plan is the standard recipe, and it suggests the border weight for the narrow gaps")
    func isbiPlan() {
        var measured: [(UNetConfiguration, Int, Int)] = []
        let plan = TrainingPlan(fingerprint: Self.isbi, classes: 1, timeLimitMinutes: 15) { configuration, batch, crop in
            measured.append((configuration, batch, crop))
            return 0.8
        }
        #expect(plan.crop == 256 && plan.batchSize == 4 && plan.depth == 4 && plan.width == 16)
        #expect(measured.count == 1 && measured[0].0.width == 16 && measured[0].1 == 4 && measured[0].2 == 256)
        #expect(plan.borderWeight == nil && plan.schedule == TrainingConfiguration.ScheduleKind.none)
        #expect(!plan.elastic && !plan.rotate && !plan.scale && !plan.intensity)
        #expect(plan.reasons.contains { $0.hasPrefix("no border weight") && $0.hasSuffix("--border-weight 10 may help separate touching objects") })
        #expect(plan.reasons.contains { $0.hasPrefix("width 16: one step of width 16 took 800 ms here, so 15 min allow about 1125 steps") })
        var configuration = TrainingConfiguration()
        plan.apply(to: &configuration)
        #expect(configuration.crop == 256 && configuration.borderWeight == nil && configuration.elastic == false)
    }

    @Test("a faster machine or a longer budget widens the network; without a budget nothing is measured")
    func widthFromTheBudget() {
        let fast = TrainingPlan(fingerprint: Self.isbi, classes: 1, timeLimitMinutes: 15) { _, _, _ in 0.1 }
        #expect(fast.width == 32)
        let long = TrainingPlan(fingerprint: Self.isbi, classes: 1, timeLimitMinutes: 24 * 60) { _, _, _ in 0.8 }
        #expect(long.width == 64)
        let unbounded = TrainingPlan(fingerprint: Self.isbi, classes: 1, timeLimitMinutes: nil) { _, _, _ in
            Issue.record("measured a step without a time budget")
            return 1
        }
        #expect(unbounded.width == 16)
    }

    @Test("small images get shallow networks and larger batches; large objects get larger crops and depth 5")
    func sizesFromTheData() {
        func fingerprint(side: Int, diameter: Double, gaps: Double = 0) -> DatasetFingerprint {
            DatasetFingerprint(
                imageCount: 100, channels: 3, medianHeight: side, medianWidth: side, smallestSide: side, foregroundFraction: 0.3,
                medianObjectDiameter: diameter, objectsPerImage: 2, narrowGapFraction: gaps)
        }
        let small = TrainingPlan(fingerprint: fingerprint(side: 64, diameter: 6), classes: 1, timeLimitMinutes: nil) { _, _, _ in 1 }
        #expect(small.crop == 64 && small.depth == 2 && small.batchSize == 32 && small.borderWeight == nil)
        let large = TrainingPlan(fingerprint: fingerprint(side: 1024, diameter: 200), classes: 1, timeLimitMinutes: nil) { _, _, _ in 1 }
        #expect(large.crop == 576 && large.depth == 5 && large.batchSize == 2)
        let multiclass = TrainingPlan(fingerprint: fingerprint(side: 512, diameter: 30, gaps: 0.9), classes: 3, timeLimitMinutes: nil) { _, _, _ in 1 }
        #expect(multiclass.borderWeight == nil && multiclass.depth == 4)
        #expect(multiclass.reasons.contains("no border weight: it is defined for binary masks"))
    }

    @Test("tessera train --auto prints the fingerprint and the plan, and options given beside it win")
    func autoCommand() throws {
        let out = try Fixtures.temporaryFolder().appendingPathComponent("run")
        let result = try TesseraProcess.run([
            "train", "--auto", "--synthetic-count", "8", "--synthetic-size", "64", "--steps", "1", "--width", "4",
            "--threads", "1", "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("data: 8 images of 64×64 (median), 1 channel;"), "\(result.output)")
        #expect(result.output.contains("plan: crop 64²: the smallest image (64 px across)"), "\(result.output)")
        #expect(result.output.contains("plan: --width as given instead"), "\(result.output)")
        #expect(result.output.hasPrefix("CPU: ") && result.output.components(separatedBy: "CPU: ").count == 2, "\(result.output)")
        let saved = try JSONDecoder().decode(
            TrainingConfiguration.self, from: Data(contentsOf: out.appendingPathComponent("config.json")))
        #expect(saved.width == 4 && saved.depth == 2 && saved.crop == 64 && saved.batchSize == 32 && saved.elastic == false)
        let resumed = try TesseraProcess.run(["train", "--auto", "--resume", "--out", out.path])
        #expect(resumed.status == 2 && resumed.output.contains("--auto and --resume exclude each other"), "\(resumed.output)")
    }
}
