import ArgumentParser
import Foundation
import Tessera
import TesseraSegmentation

/// `tessera predict`: segment PNG images of any size with a trained model.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Write predicted masks (and optionally overlays and probabilities) for PNG images.",
        discussion: """
            For each input NAME.png, writes OUT/NAME.png: a binary mask (0/255) or, for \
            multi-class models, the original mask values restored from the checkpoint's class \
            mapping. Large images are processed in overlapping tiles, so memory stays bounded.
            """)

    @Option(help: "Checkpoint (.safetensors) written by tessera train.")
    var model: String
    @Option(parsing: .upToNextOption, help: "PNG files or folders of PNG files.")
    var input: [String]
    @Option(help: "Output folder.")
    var out: String
    @Option(help: "Probability above which a pixel is foreground (binary models).")
    var threshold: Float = 0.5
    @Option(help: "Tile side in pixels (rounded down to a multiple of 2^depth).")
    var tile = 512
    @Option(help: "Overlap between tiles in pixels (rounded down to a multiple of 2^depth).")
    var overlap = 128
    @Flag(help: "Also write NAME.overlay.png: the classes tinted over the image.")
    var overlay = false
    @Flag(help: "Also write NAME.npy: float32 probabilities [classes, H, W] (sigmoid for 1 class, softmax otherwise).")
    var saveProbabilities = false
    @Option(help: "Threads (default: the cores this process may use, after affinity and cgroup CPU quota).")
    var threads: Int?

    func validate() throws {
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold must be between 0 and 1, got \(threshold)") }
        guard tile >= 16 else { throw ValidationError("--tile must be at least 16, got \(tile)") }
        guard overlap >= 0 && overlap < tile else { throw ValidationError("--overlap must be in 0..<\(tile), got \(overlap)") }
        guard !input.isEmpty else { throw ValidationError("--input needs at least one PNG file or folder") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        Threads.count = threads ?? CoreBudget.current.threads
        let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: model))
        let multiple = checkpoint.model.configuration.sizeMultiple
        let predictor = Predictor(
            model: checkpoint.model, tileSize: max(multiple, tile / multiple * multiple), overlap: overlap / multiple * multiple)
        let files = try inputFiles()
        let outputFolder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        for (index, file) in files.enumerated() {
            let png = try PNGFile.read(file)
            let image = FolderDataset.imageTensor(png)
            guard image.shape[0] == checkpoint.model.configuration.inputChannels else {
                throw DatasetError(
                    path: file.path,
                    reason: "has \(image.shape[0]) channel(s) but the model expects \(checkpoint.model.configuration.inputChannels)")
            }
            let logits = predictor.logits(for: image)
            let batchLogits = logits.reshaped([1] + logits.shape)
            let labels = SegmentationOutput.labels(logits: batchLogits, threshold: threshold)
            let stem = file.deletingPathExtension().lastPathComponent
            let mask = labels.map { UInt8(clamping: checkpoint.mapping.value(of: $0)) }
            try PNGFile.write(mask, width: png.width, height: png.height, channels: 1, to: outputFolder.appendingPathComponent("\(stem).png"))
            if overlay {
                let rgb = Overlay.render(image: image.scalars, channels: image.shape[0], labels: labels, width: png.width, height: png.height)
                try PNGFile.write(rgb, width: png.width, height: png.height, channels: 3, to: outputFolder.appendingPathComponent("\(stem).overlay.png"))
            }
            if saveProbabilities {
                let probabilities = SegmentationOutput.probabilities(logits: batchLogits).reshaped(logits.shape)
                try NumPyFile.write(probabilities, to: outputFolder.appendingPathComponent("\(stem).npy"))
            }
            print("[\(index + 1)/\(files.count)] \(file.lastPathComponent) → \(out)/\(stem).png")
        }
    }

    /// The PNG files named directly or found in the named folders, sorted within a folder.
    private func inputFiles() throws -> [URL] {
        try input.flatMap { path -> [URL] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DatasetError(path: path, reason: "input not found")
            }
            guard isDirectory.boolValue else { return [URL(fileURLWithPath: path)] }
            let folder = URL(fileURLWithPath: path)
            let names = try FolderDataset.pngNames(in: folder)
            guard !names.isEmpty else { throw DatasetError(path: path, reason: "folder holds no PNG files") }
            return names.map { folder.appendingPathComponent($0) }
        }
    }
}
