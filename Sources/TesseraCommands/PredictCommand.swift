import ArgumentParser
import Foundation
import Tessera
import TesseraDistributed
import TesseraSegmentation

/// `tessera predict`: segment images of any size (PNG, JPEG, TIFF, GIF) and TIFF stacks
/// with a trained model.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Write predicted masks (and optionally overlays and probabilities) for images and TIFF stacks.",
        discussion: """
            For each input NAME.png/.jpg/.gif, writes OUT/NAME.png; for NAME.tif (one page or a \
            stack), writes OUT/NAME.tif with one mask page per input page. Masks are binary \
            (0/255) or, for multi-class models, the original mask values restored from the \
            checkpoint's class mapping (16-bit PNGs and TIFF pages when a value exceeds 255). Large images \
            are processed in overlapping tiles, so memory stays bounded. --model also takes a \
            PyTorch state_dict of Pytorch-UNet saved as safetensors (scripts/convert_pytorch_unet.py).
            """)

    @Option(help: "Checkpoint (.safetensors) written by tessera train, or a Pytorch-UNet state_dict in safetensors.")
    var model: String
    @Option(parsing: .upToNextOption, help: "Image files (PNG, JPEG, TIFF, GIF), TIFF stacks, or folders of them.")
    var input: [String]
    @Option(help: "Output folder.")
    var out: String
    @Option(help: "Probability above which a pixel is foreground (binary models).")
    var threshold: Float = 0.5
    @OptionGroup var inference: InferenceOptions
    @Flag(help: "Also write NAME.overlay.png: the classes tinted over the image.")
    var overlay = false
    @Flag(help: "Also write NAME.npy: float32 probabilities [classes, H, W] (sigmoid for 1 class, softmax otherwise).")
    var saveProbabilities = false
    @Option(help: "Mask value of each class, comma-separated, for a state_dict that does not record them (default 0,1,…).")
    var classValues: ClassValues?
    @Option(help: "Threads (default: the cores this process may use, after affinity and cgroup CPU quota).")
    var threads: Int?

    func validate() throws {
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold must be between 0 and 1, got \(threshold)") }
        guard !input.isEmpty else { throw ValidationError("--input needs at least one image file, stack or folder") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        try withExecutionContext(ExecutionContext(threads: threads ?? CoreBudget.current.threads)) { try predict() }
    }

    /// The predictions, with the context of --threads.
    private func predict() throws {
        let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: model), classValues: classValues?.values)
        let predictor = inference.predictor(for: checkpoint.model)
        let files = try inputFiles()
        let outputFolder = URL(fileURLWithPath: out)
        try checkOutputsSpareInputs(files)
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        let maskBitDepth = checkpoint.mapping.values.allSatisfy { $0 <= 255 } ? 8 : 16
        // Under mpirun each process predicts every N-th input.
        let communicator = Communicator.isLaunchedByMPI ? try Communicator.world() : nil
        let (rank, processes) = (communicator?.rank ?? 0, communicator?.size ?? 1)
        for (index, file) in files.enumerated() where index % processes == rank {
            let pages = try ImageFile.readPages(file)
            let stem = file.deletingPathExtension().lastPathComponent
            let isTIFF = ["tif", "tiff"].contains(file.pathExtension.lowercased()) || pages.count > 1
            var masks: [[UInt16]] = []
            for (page, raster) in pages.enumerated() {
                let image = FolderDataset.imageTensor(raster)
                guard image.shape[0] == checkpoint.model.configuration.inputChannels else {
                    throw ImageFileError(
                        path: file.path, page: pages.count > 1 ? page : nil,
                        reason: "has \(image.shape[0]) channel(s) but the model expects \(checkpoint.model.configuration.inputChannels)")
                }
                let logits = predictor.logits(for: image)
                let batchLogits = logits.reshaped([1] + logits.shape)
                let labels = SegmentationOutput.labels(logits: batchLogits, threshold: threshold)
                masks.append(labels.map { UInt16(clamping: checkpoint.mapping.value(of: $0)) })
                let name = pages.count > 1 ? StackDataset.pageName(stem: stem, page: page, of: pages.count) : stem
                if overlay {
                    let rgb = Overlay.render(image: image.scalars, channels: image.shape[0], labels: labels, width: raster.width, height: raster.height)
                    try PNGFile.write(rgb, width: raster.width, height: raster.height, channels: 3, to: outputFolder.appendingPathComponent("\(name).overlay.png"))
                }
                if saveProbabilities {
                    let probabilities = SegmentationOutput.probabilities(logits: batchLogits).reshaped(logits.shape)
                    try NumPyFile.write(probabilities, to: outputFolder.appendingPathComponent("\(name).npy"))
                }
            }
            let written: String
            if isTIFF {
                let sizes = Set(pages.map { [$0.width, $0.height] })
                guard sizes.count == 1 else {
                    throw ImageFileError(path: file.path, reason: "its pages differ in size (\(sizes.count) sizes); a mask stack needs one size")
                }
                written = "\(stem).tif"
                try TIFFFile.write(
                    pages: masks, width: pages[0].width, height: pages[0].height, bitDepth: maskBitDepth,
                    to: outputFolder.appendingPathComponent(written))
            } else {
                written = "\(stem).png"
                let target = outputFolder.appendingPathComponent(written)
                if maskBitDepth == 8 {
                    try PNGFile.write(masks[0].map { UInt8(clamping: $0) }, width: pages[0].width, height: pages[0].height, channels: 1, to: target)
                } else {
                    try PNGFile.write(gray16: masks[0], width: pages[0].width, height: pages[0].height, to: target)
                }
            }
            let pageNote = pages.count > 1 ? " (\(pages.count) pages)" : ""
            print("[\(index + 1)/\(files.count)] \(file.lastPathComponent)\(pageNote) → \(out)/\(written)")
        }
    }

    /// Refuses an output folder that is, or lies inside, an input folder, or is the folder
    /// of an input file, and two inputs whose outputs would have the same name.
    private func checkOutputsSpareInputs(_ files: [URL]) throws {
        func canonical(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path }
        let outputFolder = canonical(out)
        for path in input {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            // A folder's images are listed anew on every run, so the output may not lie inside
            // it; a single file's folder may hold the output folder, but not be it.
            let folder = isDirectory.boolValue ? canonical(path) : canonical((path as NSString).deletingLastPathComponent)
            if outputFolder == folder || isDirectory.boolValue && outputFolder.hasPrefix(folder + "/") {
                throw ValidationError("--out \(out) is the input folder \(folder) or inside it: predictions would sit among (or replace) the inputs; choose a folder outside it")
            }
        }
        var outputs: [String: URL] = [:]
        for file in files {
            let stem = file.deletingPathExtension().lastPathComponent
            if let other = outputs[stem] {
                throw ValidationError("inputs \(other.path) and \(file.path) would both be written as \(out)/\(stem).*; predict them into separate --out folders")
            }
            outputs[stem] = file
        }
    }

    /// The image files named directly or found in the named folders, sorted within a folder.
    private func inputFiles() throws -> [URL] {
        try input.flatMap { path -> [URL] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DatasetError(path: path, reason: "input not found")
            }
            guard isDirectory.boolValue else { return [URL(fileURLWithPath: path)] }
            let folder = URL(fileURLWithPath: path)
            let names = try FolderDataset.imageNames(in: folder)
            guard !names.isEmpty else { throw DatasetError(path: path, reason: "folder holds no image files (PNG, JPEG, TIFF, GIF)") }
            return names.map { folder.appendingPathComponent($0) }
        }
    }
}

/// Class values as the command line gives them: "0,128,255".
struct ClassValues: ExpressibleByArgument {
    let values: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        values = parts.map { $0! }
    }
}
