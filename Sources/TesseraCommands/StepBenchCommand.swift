import ArgumentParser
import Foundation
import Tessera
import TesseraDistributed
import TesseraSegmentation

/// `tessera bench step`: one configuration's training step and inference, timed.
struct StepBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Median U-Net training step (forward, BCE loss, backward, Adam) and inference time.",
        discussion: """
            Under mpirun the step is data-parallel: every process trains on a batch of the \
            configuration's size, so the job's images per second count all of them, and rank 0 \
            also reports the all-reduce time per step and the part hidden behind the backward pass.
            """)

    @Option(help: "Configuration: i (w16, 4×128²), ii (w32, 2×256²) or iii (w64, 1×256²).")
    var config = BenchConfiguration.i
    @Option(help: "Threads.")
    var threads = CoreBudget.current.threads
    @Option(help: "Timed iterations (after 3 warm-up steps).")
    var runs = 10
    @Option(help: "Make each training step's batch as tessera train does, by cropping images twice the size: none (a fixed batch), standard (crops, flips, quarter turns) or all (also --elastic --rotate --scale --intensity --border-weight 10); each batch is made in the background during the step before, as tessera train does, and the time making it took is also reported.")
    var augmentation = AugmentationLevel.none
    @Flag(help: "Print one JSON object.")
    var json = false

    /// How much augmentation each timed step includes.
    enum AugmentationLevel: String, CaseIterable, ExpressibleByArgument { case none, standard, all }

    func validate() throws {
        guard threads >= 1, runs >= 1 else { throw ValidationError("--threads and --runs must be at least 1") }
    }

    func run() throws {
        try withExecutionContext(ExecutionContext(threads: threads)) { try measure() }
    }

    /// The measurement, with the context of --threads.
    private func measure() throws {
        let (_, _, size, batch) = config.shape
        var generator = RandomGenerator(seed: 0)
        let model = UNet(config.model, generator: &generator)
        let optimizer = Adam(learningRate: 1e-3)
        let images = Tensor.uniform([batch, 1, size, size], using: &generator)
        let targets = Tensor.uniform([batch, 1, size, size], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let communicator = Communicator.isLaunchedByMPI ? try Communicator.world() : nil
        let parallel = communicator.map { DataParallel(model, communicator: $0) }
        var reductions: [ReductionTiming] = []
        let sources = SyntheticShapes.generate(count: 2 * batch, size: 2 * size, seed: 1)
        let all = augmentation == .all
        let augment = Augmentation(cropSize: size, flipsAndRotations: true).with(elastic: all, rotation: all, scaling: all, intensity: all)
        // Each step's batch is made during the step before, in the background, as the trainer does.
        let prepare: @Sendable (Int) -> PreparedBatch = { step in
            let start = DispatchTime.now().uptimeNanoseconds
            let made = Batch(augmenting: (0..<batch).map { ((step + $0) % sources.samples.count, $0) }, of: sources, with: augment) {
                UInt64(step * 1000 + $0)
            }
            let weights = all ? made.weights(BorderWeights(w0: 10)) : nil
            return PreparedBatch(images: made.images, targets: made.binaryTargets, weights: weights, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let prefetch = Prefetch<PreparedBatch>()
        var step = 0
        var preparing: [Double] = []
        // A fixed number of runs (no time minimum), so that every process steps alike.
        let train = Timing.median(warmup: 3, minimumRuns: runs, minimumSeconds: 0) {
            var (images, targets, weights) = (images, targets, Tensor?.none)
            if augmentation != .none {
                step += 1
                let made = prefetch.take(step: step) { prepare(step) }
                let next = step + 1
                prefetch.start(step: next) { prepare(next) }
                (images, targets, weights) = (made.images, made.targets, made.weights)
                preparing.append(made.seconds)
            }
            let loss = { (model: UNet) in binaryCrossEntropyWithLogits(model(images), targets, weights: weights) }
            let gradients = parallel.map { $0.valueAndGradient(loss).gradients } ?? valueAndGradient(of: model, loss).gradients
            optimizer.update(model, gradients: gradients)
            if let parallel { reductions.append(parallel.lastReduction) }
        }
        prefetch.wait()
        let processes = communicator?.size ?? 1
        model.eval()
        let infer = Timing.median(warmup: 2, minimumRuns: runs, minimumSeconds: 0) { _ = model(images) }
        let result = StepBenchResult(
            config: config.rawValue, framework: "tessera", trainMilliseconds: train * 1e3, inferMilliseconds: infer * 1e3,
            imagesPerSecond: Double(batch * processes) / train, trainGFlops: Double(processes) * config.trainingFlops / train / 1e9,
            peakRSSMegabytes: StepBenchResult.peakResidentMegabytes(), threads: threads, processes: processes,
            allReduceMilliseconds: reductions.isEmpty ? nil : Self.median(reductions.map(\.reducing)) * 1e3,
            hiddenFraction: reductions.isEmpty ? nil : Self.median(reductions.map(\.hiddenFraction)),
            batchMilliseconds: preparing.isEmpty ? nil : Self.median(preparing) * 1e3)
        guard (communicator?.rank ?? 0) == 0 else { return }
        print(json ? result.json : result.description)
    }

    private static func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }
}

/// One step's batch as the bench makes it, with the time making it took.
private struct PreparedBatch: Sendable {
    let images: Tensor, targets: Tensor, weights: Tensor?
    let seconds: Double
}

/// What `tessera bench step --json` and `scripts/bench_pytorch.py` print.
struct StepBenchResult: Decodable, CustomStringConvertible {
    let config: String
    let framework: String
    let trainMilliseconds: Double
    var inferMilliseconds: Double
    let imagesPerSecond: Double
    let trainGFlops: Double?
    let peakRSSMegabytes: Double
    let threads: Int
    /// Under mpirun: the job's processes, the median all-reduce time per step and the
    /// fraction of it hidden behind the backward pass.
    let processes: Int?
    let allReduceMilliseconds: Double?
    let hiddenFraction: Double?
    /// With augmentation: the median time of making one step's batch, in the background
    /// during the step before.
    let batchMilliseconds: Double?

    enum CodingKeys: String, CodingKey {
        case config, framework, threads, processes
        case allReduceMilliseconds = "allreduce_ms_per_step", hiddenFraction = "allreduce_hidden_fraction"
        case trainMilliseconds = "train_ms_per_step", inferMilliseconds = "infer_ms_per_batch"
        case imagesPerSecond = "images_per_second", trainGFlops = "train_gflops", peakRSSMegabytes = "peak_rss_mb"
        case batchMilliseconds = "batch_ms_per_step"
    }

    init(config: String, framework: String, trainMilliseconds: Double, inferMilliseconds: Double, imagesPerSecond: Double,
         trainGFlops: Double?, peakRSSMegabytes: Double, threads: Int, processes: Int = 1,
         allReduceMilliseconds: Double? = nil, hiddenFraction: Double? = nil, batchMilliseconds: Double? = nil) {
        (self.config, self.framework, self.trainMilliseconds, self.inferMilliseconds) = (config, framework, trainMilliseconds, inferMilliseconds)
        (self.imagesPerSecond, self.trainGFlops, self.peakRSSMegabytes, self.threads) = (imagesPerSecond, trainGFlops, peakRSSMegabytes, threads)
        (self.processes, self.allReduceMilliseconds, self.hiddenFraction) = (processes, allReduceMilliseconds, hiddenFraction)
        self.batchMilliseconds = batchMilliseconds
    }

    var json: String {
        String(
            format: "{\"config\": \"%@\", \"framework\": \"%@\", \"train_ms_per_step\": %.2f, \"infer_ms_per_batch\": %.2f, \"images_per_second\": %.2f, \"train_gflops\": %.1f, \"peak_rss_mb\": %.1f, \"threads\": %ld, \"processes\": %ld, \"allreduce_ms_per_step\": %.2f, \"allreduce_hidden_fraction\": %.3f, \"batch_ms_per_step\": %.2f}",
            config as NSString, framework as NSString, trainMilliseconds, inferMilliseconds, imagesPerSecond, trainGFlops ?? 0,
            peakRSSMegabytes, threads, processes ?? 1, allReduceMilliseconds ?? 0, hiddenFraction ?? 1, batchMilliseconds ?? 0)
    }

    var description: String {
        String(
            format: "config %@ (%@): train %.1f ms/step (%.1f images/s, %.1f GFLOP/s), inference %.1f ms/batch, peak RSS %.0f MB, %ld threads",
            config as NSString, framework as NSString, trainMilliseconds, imagesPerSecond, trainGFlops ?? 0, inferMilliseconds,
            peakRSSMegabytes, threads)
            + (batchMilliseconds.map { String(format: "; making each batch took %.1f ms in the background (%.1f %% of a step)", $0, 100 * $0 / trainMilliseconds) } ?? "")
    }

    /// The process's peak resident set size (VmHWM) in megabytes.
    static func peakResidentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }
}
