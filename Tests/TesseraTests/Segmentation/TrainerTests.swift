import Foundation
import Synchronization
import Testing
import Tessera
import TesseraSegmentation

@Suite("training runs")
struct TrainerTests {
    static func smallConfiguration(_ folder: URL) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.outputPath = folder.path
        configuration.width = 4
        configuration.depth = 2
        configuration.batchSize = 2
        configuration.syntheticCount = 8
        configuration.syntheticSize = 32
        configuration.epochs = 4
        configuration.learningRate = 1e-2
        configuration.threads = 2
        return configuration
    }

    /// The small configuration with every augmentation, SGD with Nesterov momentum and a
    /// weight average (no decaying schedule: the shorter first half of the resume test
    /// would decay faster).
    static func recipeConfiguration(_ folder: URL) -> TrainingConfiguration {
        var configuration = smallConfiguration(folder)
        (configuration.elastic, configuration.rotate, configuration.scale, configuration.intensity) = (true, true, true, true)
        (configuration.optimizer, configuration.momentum, configuration.nesterov) = (.sgd, 0.99, true)
        configuration.averageDecay = 0.9
        return configuration
    }

    @Test("a resumed run's metrics equal an uninterrupted run's with the same seed", arguments: ["standard", "recipe"])
    func resumeIsExact(recipe: String) throws {
        let make = recipe == "recipe" ? Self.recipeConfiguration : Self.smallConfiguration
        let straightFolder = try Fixtures.temporaryFolder(), resumedFolder = try Fixtures.temporaryFolder()
        let straight = try Trainer(configuration: make(straightFolder)).run()
        var firstHalf = make(resumedFolder)
        firstHalf.epochs = 2
        _ = try Trainer(configuration: firstHalf).run()
        let resumed = try Trainer(configuration: make(resumedFolder), resume: true).run()
        #expect(resumed.records.count == 4)
        func withoutTime(_ records: [EpochRecord]) -> [EpochRecord] {
            records.map { var record = $0; record.seconds = 0; return record }
        }
        #expect(withoutTime(resumed.records) == withoutTime(straight.records))
        let files = try FileManager.default.contentsOfDirectory(atPath: resumedFolder.path).sorted()
        #expect(files == [
            ".lock", "best.safetensors", "config.json", "curves.svg", "last.optimizer.safetensors", "last.safetensors", "metrics.csv",
            "previous.optimizer.safetensors",
        ])
        let checkpoint = try Checkpoint.read(from: resumedFolder.appendingPathComponent("last.safetensors"))
        #expect(checkpoint.epoch == 4 && checkpoint.step == 16)
    }

    @Test("with a weight average, validation scores the average, best.safetensors holds it and last.safetensors the trained weights")
    func weightAverage() throws {
        let folder = try Fixtures.temporaryFolder()
        var configuration = Self.smallConfiguration(folder)
        configuration.averageDecay = 0.9
        let opening = Mutex<String?>(nil)
        let summary = try Trainer(configuration: configuration) { event in
            if case .started(let line) = event { opening.withLock { $0 = line } }
        }.run()
        #expect(opening.withLock { $0 }?.contains(" with an average of the weights (--ema 0.9)") == true)
        let best = try Checkpoint.read(from: folder.appendingPathComponent("best.safetensors"))
        let last = try Checkpoint.read(from: folder.appendingPathComponent("last.safetensors"))
        let record = try #require(summary.records.first { $0.epoch == best.epoch })
        #expect(record.validationDice == summary.bestDice)
        let (_, validation) = try configuration.datasets()
        let (metrics, loss) = Validation.evaluate(best.model, on: validation, loss: configuration.resolvedLoss)
        #expect(metrics.dice == record.validationDice)
        #expect(abs(loss! - record.validationLoss) < 1e-9)
        #expect(best.model.namedParameters()[0].1.value != last.model.namedParameters()[0].1.value)
        #expect(best.model.allCounters().map(\.1.value) == Array(repeating: Int64(best.step), count: best.model.allCounters().count))
    }

    @Test("the U-Net overfits four synthetic images to Dice > 0.95")
    func overfitsSmallSet() throws {
        var configuration = Self.smallConfiguration(try Fixtures.temporaryFolder())
        configuration.width = 8
        configuration.depth = 3
        configuration.syntheticCount = 4
        configuration.syntheticSize = 48
        configuration.augment = false
        configuration.epochs = 120
        configuration.validationInterval = 40
        let training = SyntheticShapes.generate(count: 4, size: 48, seed: 0)
        let summary = try Trainer(configuration: configuration).run()
        #expect(summary.records.count == 3)
        // Score on the training images themselves: memorised.
        let checkpoint = try Checkpoint.read(from: summary.runFolder.appendingPathComponent("last.safetensors"))
        let (metrics, _) = Validation.evaluate(checkpoint.model, on: training, loss: nil)
        #expect(metrics.dice > 0.95, "Dice \(metrics.dice)")
    }

    @Test("a NaN loss stops the run with the step named and keeps the last good checkpoint")
    func nanStops() throws {
        let folder = try Fixtures.temporaryFolder()
        var configuration = Self.smallConfiguration(folder)
        configuration.epochs = 1
        _ = try Trainer(configuration: configuration).run()
        let before = try Data(contentsOf: folder.appendingPathComponent("last.safetensors"))
        // A fresh run into the same folder whose loss explodes in its first epoch.
        configuration.learningRate = 1e30
        configuration.optimizer = .sgd
        #expect {
            try Trainer(configuration: configuration, overwrite: true).run()
        } throws: { error in
            guard let error = error as? TrainingError else { return false }
            return !error.isBadInput && error.reason.contains("step ") && error.reason.contains("epoch 1")
        }
        #expect(try Data(contentsOf: folder.appendingPathComponent("last.safetensors")) == before)
    }

    @Test("under a time limit alone, training runs until the time is up, the schedule decays over the time, and validation stays rare")
    func timeLimitRunsToTheEnd() throws {
        var configuration = Self.smallConfiguration(try Fixtures.temporaryFolder())
        (configuration.epochs, configuration.timeLimitMinutes, configuration.schedule) = (TrainingConfiguration.maximumCount, 0.05, .poly)
        let summary = try Trainer(configuration: configuration).run()
        #expect(summary.stopReason.contains("time limit"), "\(summary.stopReason)")
        let last = try #require(summary.records.last)
        // Several epochs, but at most 20 validations and the last.
        #expect(last.epoch > 1 && summary.records.count <= 21, "\(last.epoch) epochs, \(summary.records.count) validations")
        #expect(last.learningRate < 0.5 * configuration.learningRate && last.seconds >= 3)
    }

    @Test("a prefetched batch is made in the background for the step it was started for, and only used there")
    func prefetch() {
        let prefetch = Prefetch<[Int]>()
        let caller = pthread_self()
        prefetch.start(step: 2) { [pthread_equal(pthread_self(), caller) == 0 ? 1 : 0] }
        #expect(prefetch.take(step: 2) {
            Issue.record("made again although it was prefetched")
            return []
        } == [1])
        prefetch.start(step: 3) { [3] }
        // Another step's value is made in place, and the one in flight is dropped.
        #expect(prefetch.take(step: 4) { [4] } == [4])
        #expect(prefetch.take(step: 3) { [-3] } == [-3])
    }

    @Test("options that cannot work are rejected with the option named")
    func invalidConfiguration() {
        var configuration = TrainingConfiguration()
        configuration.batchSize = 0
        #expect(configuration.problem?.contains("--batch-size") == true)
        configuration = TrainingConfiguration()
        configuration.learningRate = -1
        #expect(configuration.problem?.contains("--lr") == true)
        configuration = TrainingConfiguration()
        configuration.classes = 3
        configuration.loss = .bce
        #expect(configuration.problem?.contains("bce needs --classes 1") == true)
        configuration = TrainingConfiguration()
        configuration.nesterov = true
        #expect(configuration.problem?.contains("--nesterov needs --optimizer sgd") == true)
        configuration = TrainingConfiguration()
        (configuration.augment, configuration.elastic) = (false, true)
        #expect(configuration.problem?.contains("--elastic needs augmentation") == true)
        configuration = TrainingConfiguration()
        configuration.averageDecay = 1
        #expect(configuration.problem?.contains("--ema must be a decay between 0 and 1") == true)
        configuration = TrainingConfiguration()
        (configuration.classes, configuration.borderWeight) = (3, 10)
        #expect(configuration.problem?.contains("--border-weight needs --classes 1") == true)
    }
}
