import ArgumentParser
import Foundation
import Tessera
import TesseraDistributed
import TesseraSegmentation

/// `tessera evaluate`: score a trained model on a labelled folder.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Dice, IoU, pixel accuracy, precision and recall of a model on images/ + masks/ or a pair of TIFF stacks.")

    @Option(help: "Checkpoint (.safetensors) written by tessera train, or a Pytorch-UNet state_dict in safetensors.")
    var model: String
    @OptionGroup var data: DataOptions
    @Option(help: "Mask value of each class, comma-separated, for a state_dict that does not record them (default 0,1,…).")
    var classValues: ClassValues?
    @Option(help: "Probability above which a pixel is foreground (binary models).")
    var threshold: Float = 0.5
    @OptionGroup var inference: InferenceOptions
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
    @Option(help: "Threads (default: the cores this process may use, after affinity and cgroup CPU quota).")
    var threads: Int?

    func validate() throws {
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold must be between 0 and 1, got \(threshold)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard try data.source() != nil else { throw ValidationError("name the data: --data DIR, or --images STACK --masks STACK") }
    }

    func run() throws {
        try withExecutionContext(ExecutionContext(threads: threads ?? CoreBudget.current.threads)) { try evaluate() }
    }

    /// The evaluation, with the context of --threads.
    private func evaluate() throws {
        let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: model), classValues: classValues?.values)
        let source = try data.source()!
        let dataset = try source.load(classes: checkpoint.mapping.classes, mapping: checkpoint.mapping)
        guard dataset.channels == checkpoint.model.configuration.inputChannels else {
            throw DatasetError(path: source.description, reason: "images have \(dataset.channels) channel(s) but the model expects \(checkpoint.model.configuration.inputChannels)")
        }
        // Under mpirun each process scores every N-th image and rank 0 reports the summed
        // counts: the figures of one process.
        let communicator = Communicator.isLaunchedByMPI ? try Communicator.world() : nil
        let (rank, processes) = (communicator?.rank ?? 0, communicator?.size ?? 1)
        var (metrics, _) = Validation.evaluate(
            checkpoint.model, on: dataset, images: Array(stride(from: rank, to: dataset.samples.count, by: processes)), loss: nil,
            threshold: threshold, predictor: inference.predictor(for: checkpoint.model))
        if let communicator, processes > 1 {
            var counts = metrics.flattenedCounts.map(Double.init)
            communicator.sumOverReplicas(&counts)
            metrics = SegmentationMetrics(labelCount: dataset.mapping.labelCount, flattenedCounts: counts.map { Int($0) })
        }
        guard rank == 0 else { return }
        let classValues = checkpoint.mapping.isBinary ? [0, 255] : checkpoint.mapping.values
        let perClass = metrics.classes.enumerated().map { index, counts in
            (index, classValues[index], counts)
        }
        if json {
            let classes = perClass.map { index, value, counts in
                String(format: "{\"class\": %ld, \"value\": %ld, \"dice\": %.6f, \"iou\": %.6f, \"precision\": %.6f, \"recall\": %.6f}",
                       index, value, counts.dice, counts.iou, counts.precision, counts.recall)
            }
            print(String(
                format: "{\"dice\": %.6f, \"iou\": %.6f, \"pixel_accuracy\": %.6f, \"precision\": %.6f, \"recall\": %.6f, \"per_class\": [%@], \"images\": %ld}",
                metrics.dice, metrics.iou, metrics.pixelAccuracy, metrics.precision, metrics.recall,
                classes.joined(separator: ", ") as NSString, metrics.images))
            return
        }
        print("\(metrics.images) images in \(source); \(checkpoint.mapping.isBinary ? "foreground class" : "mean over classes 1…")")
        print(String(format: "Dice %.4f  IoU %.4f  pixel accuracy %.4f  precision %.4f  recall %.4f",
                     metrics.dice, metrics.iou, metrics.pixelAccuracy, metrics.precision, metrics.recall))
        print("class  value    Dice     IoU  precision  recall")
        for (index, value, counts) in perClass {
            print(String(format: "%5ld  %5ld  %.4f  %.4f     %.4f  %.4f", index, value, counts.dice, counts.iou, counts.precision, counts.recall))
        }
    }
}
