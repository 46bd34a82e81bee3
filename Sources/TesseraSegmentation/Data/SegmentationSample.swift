import Tessera

/// One image and its mask: the image `[C, H, W]` scaled to [0, 1], the mask as one class
/// index per pixel (row-major `H·W`).
public struct SegmentationSample: Sendable {
    /// The file name (without folder) the sample came from, or a generated name.
    public let name: String
    public let image: Tensor
    public let labels: [Int32]

    public init(name: String, image: Tensor, labels: [Int32]) {
        require(image.rank == 3 && labels.count == image.shape[1] * image.shape[2],
                     "SegmentationSample \(name): image \(image.shape) and \(labels.count) labels do not match")
        self.name = name
        self.image = image
        self.labels = labels
    }

    public var channels: Int { image.shape[0] }
    public var height: Int { image.shape[1] }
    public var width: Int { image.shape[2] }
}

/// Samples of equal channel count with a shared class mapping.
public struct SegmentationDataset: Sendable {
    public var samples: [SegmentationSample]
    /// How raw mask values map to class indices.
    public let mapping: ClassMapping

    public init(samples: [SegmentationSample], mapping: ClassMapping) {
        self.samples = samples
        self.mapping = mapping
    }

    public var channels: Int { samples.first?.channels ?? 1 }

    /// The smallest height and width over all samples.
    public var smallestSize: Int { samples.map { min($0.height, $0.width) }.min() ?? 0 }

    /// Splits off `fraction` of the samples (at least one) as a validation set, chosen by
    /// `seed`; returns (training, validation).
    public func split(validationFraction fraction: Double, seed: UInt64) -> (SegmentationDataset, SegmentationDataset) {
        var generator = RandomGenerator(seed: seed)
        let order = Array(samples.indices).shuffled(using: &generator)
        let count = min(samples.count - 1, max(1, Int((Double(samples.count) * fraction).rounded())))
        let validation = Set(order.prefix(count))
        return (
            SegmentationDataset(samples: samples.indices.filter { !validation.contains($0) }.map { samples[$0] }, mapping: mapping),
            SegmentationDataset(samples: samples.indices.filter { validation.contains($0) }.map { samples[$0] }, mapping: mapping))
    }
}
