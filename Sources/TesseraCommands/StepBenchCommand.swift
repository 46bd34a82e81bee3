import ArgumentParser
import Foundation
import Tessera
import TesseraSegmentation

/// `tessera bench step`: one configuration's training step and inference, timed.
struct StepBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Median U-Net training step (forward, BCE loss, backward, Adam) and inference time.")

    @Option(help: "Configuration: i (w16, 4×128²), ii (w32, 2×256²) or iii (w64, 1×256²).")
    var config = BenchConfiguration.i
    @Option(help: "Threads.")
    var threads = CoreBudget.current.threads
    @Option(help: "Timed iterations (after 3 warm-up steps).")
    var runs = 10
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard threads >= 1, runs >= 1 else { throw ValidationError("--threads and --runs must be at least 1") }
    }

    func run() throws {
        Threads.count = threads
        let (_, _, size, batch) = config.shape
        var generator = RandomGenerator(seed: 0)
        let model = UNet(config.model, generator: &generator)
        let optimizer = Adam(learningRate: 1e-3)
        let images = Tensor.uniform([batch, 1, size, size], using: &generator)
        let targets = Tensor.uniform([batch, 1, size, size], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let train = Timing.median(warmup: 3, minimumRuns: runs, minimumSeconds: 0) {
            let (_, gradients) = valueAndGradient(of: model) { binaryCrossEntropyWithLogits($0(images), targets) }
            optimizer.update(model, gradients: gradients)
        }
        model.eval()
        let infer = Timing.median(warmup: 2, minimumRuns: runs, minimumSeconds: 0) { _ = model(images) }
        let result = StepBenchResult(
            config: config.rawValue, framework: "tessera", trainMilliseconds: train * 1e3, inferMilliseconds: infer * 1e3,
            imagesPerSecond: Double(batch) / train, trainGFlops: config.trainingFlops / train / 1e9,
            peakRSSMegabytes: StepBenchResult.peakResidentMegabytes(), threads: threads)
        print(json ? result.json : result.description)
    }
}

/// What `tessera bench step --json` and `scripts/bench_pytorch.py` print.
struct StepBenchResult: Decodable, CustomStringConvertible {
    let config: String
    let framework: String
    let trainMilliseconds: Double
    let inferMilliseconds: Double
    let imagesPerSecond: Double
    let trainGFlops: Double?
    let peakRSSMegabytes: Double
    let threads: Int

    enum CodingKeys: String, CodingKey {
        case config, framework, threads
        case trainMilliseconds = "train_ms_per_step", inferMilliseconds = "infer_ms_per_batch"
        case imagesPerSecond = "images_per_second", trainGFlops = "train_gflops", peakRSSMegabytes = "peak_rss_mb"
    }

    init(config: String, framework: String, trainMilliseconds: Double, inferMilliseconds: Double, imagesPerSecond: Double,
         trainGFlops: Double?, peakRSSMegabytes: Double, threads: Int) {
        (self.config, self.framework, self.trainMilliseconds, self.inferMilliseconds) = (config, framework, trainMilliseconds, inferMilliseconds)
        (self.imagesPerSecond, self.trainGFlops, self.peakRSSMegabytes, self.threads) = (imagesPerSecond, trainGFlops, peakRSSMegabytes, threads)
    }

    var json: String {
        String(
            format: "{\"config\": \"%@\", \"framework\": \"%@\", \"train_ms_per_step\": %.2f, \"infer_ms_per_batch\": %.2f, \"images_per_second\": %.2f, \"train_gflops\": %.1f, \"peak_rss_mb\": %.1f, \"threads\": %d}",
            config as NSString, framework as NSString, trainMilliseconds, inferMilliseconds, imagesPerSecond, trainGFlops ?? 0,
            peakRSSMegabytes, threads)
    }

    var description: String {
        String(
            format: "config %@ (%@): train %.1f ms/step (%.1f images/s, %.1f GFLOP/s), inference %.1f ms/batch, peak RSS %.0f MB, %d threads",
            config as NSString, framework as NSString, trainMilliseconds, imagesPerSecond, trainGFlops ?? 0, inferMilliseconds,
            peakRSSMegabytes, threads)
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
