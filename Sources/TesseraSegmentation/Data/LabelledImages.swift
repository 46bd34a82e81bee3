import Tessera

/// Turns decoded images and their masks into a ``SegmentationDataset``: checks sizes and
/// channel counts, derives or applies the class mapping, and names the file (and page) at
/// fault in every error. Shared by folder and stack datasets.
enum LabelledImages {
    /// One image with its mask; the sources name them in errors ("masks/x.png",
    /// "labels.tif page 3").
    struct Pair {
        let name: String
        let image: Raster
        let imageSource: String
        let mask: Raster
        let maskSource: String
    }

    static func dataset(_ pairs: [Pair], classes: Int, mapping: ClassMapping?, masksSource: String) throws -> SegmentationDataset {
        var images: [(String, Tensor)] = [], rawMasks: [[Int]] = []
        for pair in pairs {
            let (image, mask) = (pair.image, pair.mask)
            guard image.width == mask.width && image.height == mask.height else {
                throw DatasetError(
                    path: pair.maskSource, reason: "mask is \(mask.width)×\(mask.height) but its image is \(image.width)×\(image.height)")
            }
            if let first = images.first, first.1.shape[0] != image.channels {
                throw DatasetError(
                    path: pair.imageSource,
                    reason: "has \(image.channels) channel(s) but \(first.0) has \(first.1.shape[0]); all images need the same")
            }
            images.append((pair.name, FolderDataset.imageTensor(image)))
            rawMasks.append(FolderDataset.maskValues(mask))
        }
        let resolved = try mapping ?? deriveMapping(classes: classes, masks: rawMasks, source: masksSource)
        var samples: [SegmentationSample] = []
        for (index, (name, image)) in images.enumerated() {
            let raw = rawMasks[index]
            var labels = [Int32](repeating: 0, count: raw.count)
            for (pixel, value) in raw.enumerated() {
                guard let label = resolved.label(of: value) else {
                    let found = Set(raw).subtracting(resolved.values).sorted().prefix(8)
                    throw DatasetError(
                        path: pairs[index].maskSource,
                        reason: "mask values \(Array(found)) are not among the model's class values [\(MessageText.list(resolved.values.map(String.init)))]")
                }
                labels[pixel] = label
            }
            samples.append(SegmentationSample(name: name, image: image, labels: labels))
        }
        return SegmentationDataset(samples: samples, mapping: resolved)
    }

    private static func deriveMapping(classes: Int, masks: [[Int]], source: String) throws -> ClassMapping {
        guard classes > 1 else { return .binary }
        var distinct = Set<Int>()
        for mask in masks { distinct.formUnion(mask) }
        let values = distinct.sorted()
        guard values.count <= classes else {
            throw DatasetError(
                path: source, reason: "masks hold \(values.count) distinct values \(Array(values.prefix(12))) but --classes is \(classes)")
        }
        return ClassMapping(classes: classes, values: values + (0..<(classes - values.count)).map { -1 - $0 })
    }
}
