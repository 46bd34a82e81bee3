import Foundation
import Tessera

/// A trained U-Net as a safetensors file: the weights under Pytorch-UNet's names, and in
/// `__metadata__` the model configuration, class mapping, epoch, step, best validation
/// Dice and the training generator's state (for an exact resume).
public struct Checkpoint {
    public var model: UNet
    public var mapping: ClassMapping
    public var epoch: Int
    public var step: Int
    public var bestDice: Double
    /// The training generator's state words, when saved by the trainer.
    public var randomState: [UInt64]?

    public init(model: UNet, mapping: ClassMapping, epoch: Int = 0, step: Int = 0, bestDice: Double = 0, randomState: [UInt64]? = nil) {
        self.model = model
        self.mapping = mapping
        self.epoch = epoch
        self.step = step
        self.bestDice = bestDice
        self.randomState = randomState
    }

    /// Writes the checkpoint atomically.
    public func write(to url: URL) throws {
        var metadata = [
            "format": "tessera-unet",
            "model": Self.json(model.configuration),
            "classes": Self.json(mapping),
            "epoch": String(epoch),
            "step": String(step),
            "best_dice": String(bestDice),
        ]
        if let randomState { metadata["rng"] = randomState.map(String.init).joined(separator: ",") }
        try model.stateDictionary(metadata: metadata).write(to: url)
    }

    /// Reads a checkpoint, rebuilding the model its metadata describes.
    ///
    /// - Throws: ``SafeTensorsError`` for a damaged file, ``CheckpointError`` for missing or
    ///   malformed metadata, ``ModuleLoadingError`` when tensors do not fit the model.
    public static func read(from url: URL) throws -> Checkpoint {
        let file = try SafeTensors.read(from: url)
        guard let modelText = file.metadata["model"] else {
            throw CheckpointError(path: url.path, reason: "no 'model' metadata: not a Tessera U-Net checkpoint")
        }
        guard let configuration = try? JSONDecoder().decode(UNetConfiguration.self, from: Data(modelText.utf8)) else {
            throw CheckpointError(path: url.path, reason: "the 'model' metadata is not a valid U-Net configuration: \(modelText)")
        }
        if let problem = configuration.problem {
            throw CheckpointError(path: url.path, reason: "the model configuration is invalid: \(problem)")
        }
        let mapping = try file.metadata["classes"].map { text in
            guard let mapping = try? JSONDecoder().decode(ClassMapping.self, from: Data(text.utf8)),
                  mapping.classes == configuration.classes, mapping.values.count == (mapping.isBinary ? 2 : mapping.classes)
            else { throw CheckpointError(path: url.path, reason: "the 'classes' metadata does not fit the model: \(text)") }
            return mapping
        } ?? (configuration.classes == 1 ? .binary : ClassMapping(classes: configuration.classes, values: Array(0..<configuration.classes)))
        var generator = RandomGenerator(seed: 0)
        let model = UNet(configuration, generator: &generator)
        try model.load(file, source: url.path)
        let randomState = file.metadata["rng"].map { $0.split(separator: ",").compactMap { UInt64($0) } }
        return Checkpoint(
            model: model, mapping: mapping,
            epoch: Int(file.metadata["epoch"] ?? "") ?? 0, step: Int(file.metadata["step"] ?? "") ?? 0,
            bestDice: Double(file.metadata["best_dice"] ?? "") ?? 0,
            randomState: randomState?.count == 4 ? randomState : nil)
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

    public var description: String { "\(path): \(reason)" }
}
