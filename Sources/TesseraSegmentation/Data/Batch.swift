import Tessera

/// Images stacked into `[N, C, H, W]` with their labels (`N·H·W`, row-major).
public struct Batch: Sendable {
    public let images: Tensor
    public let labels: [Int32]

    /// Stacks equally sized images.
    public init(_ items: [(image: Tensor, labels: [Int32])]) {
        require(!items.isEmpty, "Batch: no images")
        let shape = items[0].image.shape
        require(items.allSatisfy { $0.image.shape == shape }, "Batch: images differ in shape: \(items.map(\.image.shape))")
        var stacked = Tensor.zeros([items.count] + shape)
        stacked.withUnsafeMutableBufferPointer { buffer in
            for (index, item) in items.enumerated() {
                item.image.withUnsafeBufferPointer { source in
                    for offset in source.indices { buffer[index * source.count + offset] = source[offset] }
                }
            }
        }
        images = stacked
        labels = items.flatMap(\.labels)
    }

    /// The samples `items` of `dataset`, each augmented with its own generator, seeded with
    /// `seed(position)`: the same batch whichever order, or cores, they are made on. The
    /// images are made in parallel.
    public init(
        augmenting items: [(sample: Int, position: Int)], of dataset: SegmentationDataset, with augmentation: Augmentation,
        seed: (Int) -> UInt64
    ) {
        var made = [(image: Tensor, labels: [Int32])?](repeating: nil, count: items.count)
        made.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let results = buffer.baseAddress!
            withoutActuallyEscaping(seed) { seed in
                nonisolated(unsafe) let seed = seed
                Parallel.forEach(items.count) { index in
                    var generator = RandomGenerator(seed: seed(items[index].position))
                    results[index] = augmentation.apply(to: dataset.samples[items[index].sample], using: &generator)
                }
            }
        }
        self.init(made.map { $0! })
    }

    /// The U-Net paper's border weights of each image's mask, `[N, 1, H, W]` (the images
    /// in parallel).
    public func weights(_ border: BorderWeights) -> Tensor {
        let (batch, height, width) = (images.shape[0], images.shape[2], images.shape[3])
        let plane = height * width
        var maps = [[Float]](repeating: [], count: batch)
        maps.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let maps = buffer.baseAddress!
            Parallel.forEach(batch) { image in
                maps[image] = border.map(labels: Array(labels[(image * plane)..<((image + 1) * plane)]), height: height, width: width)
            }
        }
        return Tensor(shape: [batch, 1, height, width], scalars: maps.flatMap { $0 })
    }

    /// Binary targets `[N, 1, H, W]` (1 for foreground).
    public var binaryTargets: Tensor {
        Tensor(shape: [images.shape[0], 1, images.shape[2], images.shape[3]], scalars: labels.map { $0 == 0 ? 0 : 1 })
    }

    /// One-hot targets `[N, classes, H, W]`.
    public func oneHotTargets(classes: Int) -> Tensor {
        let (batch, plane) = (images.shape[0], images.shape[2] * images.shape[3])
        var targets = Tensor.zeros([batch, classes, images.shape[2], images.shape[3]])
        targets.withUnsafeMutableBufferPointer { buffer in
            for (position, label) in labels.enumerated() {
                buffer[((position / plane) * classes + Int(label)) * plane + position % plane] = 1
            }
        }
        return targets
    }
}
