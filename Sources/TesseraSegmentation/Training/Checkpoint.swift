import Foundation
import Tessera

/// A trained U-Net as a safetensors file: the weights under Pytorch-UNet's names, and in
/// `__metadata__` the model configuration, class mapping, epoch, step, best validation
/// Dice and the number of processes that trained it.
public struct Checkpoint {
    public var model: UNet
    public var mapping: ClassMapping
    public var epoch: Int
    public var step: Int
    public var bestDice: Double
    /// The processes of the data-parallel job that trained it (1 for one process).
    public var processes: Int

    public init(model: UNet, mapping: ClassMapping, epoch: Int = 0, step: Int = 0, bestDice: Double = 0, processes: Int = 1) {
        self.model = model
        self.mapping = mapping
        self.epoch = epoch
        self.step = step
        self.bestDice = bestDice
        self.processes = processes
    }

    /// How images are scaled to [0, 1] before they reach the model: each sample divided by
    /// the largest value of its file's bit depth (255, 65 535). Stored in every checkpoint
    /// so that prediction scales as training did.
    public static let imageScaling = "bit-depth-range"

    /// Writes the checkpoint atomically.
    public func write(to url: URL) throws {
        let metadata = [
            "format": "tessera-unet",
            "image_scaling": Self.imageScaling,
            "model": Self.json(model.configuration),
            "classes": Self.json(mapping),
            "epoch": String(epoch),
            "step": String(step),
            "best_dice": String(bestDice),
            "processes": String(processes),
        ]
        try model.stateDictionary(metadata: metadata).write(to: url)
    }

    /// Reads a checkpoint, rebuilding the model its metadata describes; a plain PyTorch
    /// state_dict (Pytorch-UNet's names, no Tessera metadata) is read too, its configuration
    /// inferred from the tensors (``UNetConfiguration/inferred(from:path:)``).
    ///
    /// - Parameter classValues: the mask value of each class, for a state_dict that does not
    ///   record them (default: 0, 1, … for several classes; binary 0/255 for one).
    /// - Throws: ``SafeTensorsError`` for a damaged file, ``CheckpointError`` for missing or
    ///   malformed metadata, ``ModuleLoadingError`` when tensors do not fit the model.
    public static func read(from url: URL, classValues: [Int]? = nil) throws -> Checkpoint {
        try checkpoint(in: SafeTensors.read(from: url), path: url.path, classValues: classValues)
    }

    /// Decodes the bytes of a checkpoint file; `path` names it in errors. Throws as
    /// ``read(from:classValues:)``.
    public static func decode(_ data: Data, path: String, classValues: [Int]? = nil) throws -> Checkpoint {
        try checkpoint(in: SafeTensors.decode(data, path: path), path: path, classValues: classValues)
    }

    private static func checkpoint(in file: SafeTensors, path: String, classValues: [Int]?) throws -> Checkpoint {
        var file = file
        if let first = file.nonFiniteTensors.first {
            throw CheckpointError(path: path, reason: "tensor \(first.name) holds \(first.count) NaN or infinite value(s); the weights are unusable")
        }
        if let scaling = file.metadata["image_scaling"], scaling != imageScaling {
            throw CheckpointError(path: path, reason: "scales images as '\(scaling)', which this version does not know (it scales as '\(imageScaling)')")
        }
        let configuration: UNetConfiguration
        if let modelText = file.metadata["model"] {
            guard let decoded = try? JSONDecoder().decode(UNetConfiguration.self, from: Data(modelText.utf8)) else {
                throw CheckpointError(path: path, reason: "the 'model' metadata is not a valid U-Net configuration: \(modelText)")
            }
            configuration = decoded
        } else {
            file = withoutDataParallelPrefix(file)
            configuration = try UNetConfiguration.inferred(from: file, path: path)
        }
        if let problem = configuration.problem {
            throw CheckpointError(path: path, reason: "the model configuration is invalid: \(problem)")
        }
        let mapping = try classMapping(of: file, configuration: configuration, classValues: classValues, path: path)
        var generator = RandomGenerator(seed: 0)
        let model = UNet(configuration, generator: &generator)
        try model.load(file, source: path)
        return Checkpoint(
            model: model, mapping: mapping,
            epoch: Int(file.metadata["epoch"] ?? "") ?? 0, step: Int(file.metadata["step"] ?? "") ?? 0,
            bestDice: Double(file.metadata["best_dice"] ?? "") ?? 0,
            processes: Int(file.metadata["processes"] ?? "").map { max(1, $0) } ?? 1)
    }

    /// The class mapping: given on the command line, stored by Tessera ('classes'), stored
    /// by the converter of Pytorch-UNet checkpoints ('mask_values'), or the default.
    private static func classMapping(
        of file: SafeTensors, configuration: UNetConfiguration, classValues: [Int]?, path: String
    ) throws -> ClassMapping {
        let classes = configuration.classes
        if let classValues {
            guard classes > 1 else { return .binary }
            guard classValues.count == classes, Set(classValues).count == classes else {
                throw CheckpointError(path: path, reason: "--class-values needs \(classes) distinct values for this model, got \(classValues)")
            }
            return ClassMapping(classes: classes, values: classValues)
        }
        if let text = file.metadata["classes"] {
            guard let mapping = try? JSONDecoder().decode(ClassMapping.self, from: Data(text.utf8)),
                  mapping.classes == classes, mapping.values.count == (mapping.isBinary ? 2 : mapping.classes)
            else { throw CheckpointError(path: path, reason: "the 'classes' metadata does not fit the model: \(text)") }
            return mapping
        }
        guard classes > 1 else { return .binary }
        if let text = file.metadata["mask_values"] {
            guard let values = try? JSONDecoder().decode([Int].self, from: Data(text.utf8)), values.count == classes,
                  Set(values).count == classes
            else { throw CheckpointError(path: path, reason: "the 'mask_values' metadata does not list \(classes) distinct integers: \(text)") }
            return ClassMapping(classes: classes, values: values)
        }
        return ClassMapping(classes: classes, values: Array(0..<classes))
    }

    /// The state_dict of a model saved inside `torch.nn.DataParallel` has every name
    /// prefixed with `module.`; the names without it.
    private static func withoutDataParallelPrefix(_ file: SafeTensors) -> SafeTensors {
        let prefix = "module."
        guard !file.tensors.isEmpty, file.tensors.keys.allSatisfy({ $0.hasPrefix(prefix) }),
              file.integerTensors.keys.allSatisfy({ $0.hasPrefix(prefix) })
        else { return file }
        func stripped<Value>(_ entries: [String: Value]) -> [String: Value] {
            Dictionary(uniqueKeysWithValues: entries.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        return SafeTensors(tensors: stripped(file.tensors), integerTensors: stripped(file.integerTensors), metadata: file.metadata)
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }
}

/// A checkpoint whose metadata is missing or does not describe a usable model.
public struct CheckpointError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
