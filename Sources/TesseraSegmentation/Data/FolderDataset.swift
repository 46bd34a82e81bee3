import Foundation
import Tessera

/// Loads a dataset folder holding `images/` and `masks/` with PNGs of identical names.
///
/// The whole folder is checked before anything is returned: a missing or extra mask, an
/// unreadable file, a size mismatch, mixed channel counts or mask values that do not fit
/// the classes each fail with a ``DatasetError`` naming the file.
public enum FolderDataset {
    /// The PNG file names of a folder, sorted.
    public static func pngNames(in folder: URL) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(path: folder.path, reason: "folder not found")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return names.filter { $0.lowercased().hasSuffix(".png") && !$0.hasPrefix(".") }.sorted()
    }

    /// Loads and validates the folder.
    ///
    /// - Parameters:
    ///   - classes: 1 for binary masks, otherwise the number of classes.
    ///   - mapping: a mapping to apply (from a checkpoint); nil derives it from the masks.
    public static func load(_ folder: URL, classes: Int, mapping: ClassMapping? = nil) throws -> SegmentationDataset {
        let imageFolder = folder.appendingPathComponent("images"), maskFolder = folder.appendingPathComponent("masks")
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw DatasetError(path: folder.path, reason: "dataset folder not found")
        }
        guard FileManager.default.fileExists(atPath: imageFolder.path) else {
            throw DatasetError(path: folder.path, reason: "no images/ folder (expected images/ and masks/ with PNGs of identical names)")
        }
        guard FileManager.default.fileExists(atPath: maskFolder.path) else {
            throw DatasetError(path: folder.path, reason: "images/ has no masks/ beside it (expected masks/ with PNGs named as in images/)")
        }
        let imageNames = try pngNames(in: imageFolder), maskNames = try pngNames(in: maskFolder)
        guard !imageNames.isEmpty else { throw DatasetError(path: imageFolder.path, reason: "no PNG images") }
        if let missing = Set(imageNames).subtracting(maskNames).sorted().first {
            throw DatasetError(path: maskFolder.appendingPathComponent(missing).path, reason: "mask missing for image \(missing)")
        }
        if let extra = Set(maskNames).subtracting(imageNames).sorted().first {
            throw DatasetError(path: maskFolder.appendingPathComponent(extra).path, reason: "mask has no image of the same name in images/")
        }

        var images: [(String, Tensor)] = [], rawMasks: [[Int]] = []
        for name in imageNames {
            let imageURL = imageFolder.appendingPathComponent(name), maskURL = maskFolder.appendingPathComponent(name)
            let image = try PNGFile.read(imageURL), mask = try PNGFile.read(maskURL)
            guard image.width == mask.width && image.height == mask.height else {
                throw DatasetError(
                    path: maskURL.path,
                    reason: "mask is \(mask.width)×\(mask.height) but its image is \(image.width)×\(image.height)")
            }
            if let first = images.first, first.1.shape[0] != image.channels {
                throw DatasetError(
                    path: imageURL.path,
                    reason: "has \(image.channels) channel(s) but \(first.0) has \(first.1.shape[0]); all images need the same")
            }
            images.append((name, imageTensor(image)))
            rawMasks.append(maskValues(mask))
        }
        let resolved = try mapping ?? deriveMapping(classes: classes, masks: rawMasks, names: imageNames, folder: maskFolder)
        var samples: [SegmentationSample] = []
        for ((name, image), raw) in zip(images, rawMasks) {
            var labels = [Int32](repeating: 0, count: raw.count)
            for (index, value) in raw.enumerated() {
                guard let label = resolved.label(of: value) else {
                    let found = Set(raw).subtracting(resolved.values).sorted().prefix(8)
                    throw DatasetError(
                        path: maskFolder.appendingPathComponent(name).path,
                        reason: "mask values \(Array(found)) are not among the model's class values \(resolved.values)")
                }
                labels[index] = label
            }
            samples.append(SegmentationSample(name: name, image: image, labels: labels))
        }
        return SegmentationDataset(samples: samples, mapping: resolved)
    }

    /// The image as `[C, H, W]` floats in [0, 1].
    public static func imageTensor(_ file: PNGFile) -> Tensor {
        let (height, width, channels) = (file.height, file.width, file.channels)
        let scale = 1 / Float(file.maximumValue)
        var tensor = Tensor.zeros([channels, height, width])
        tensor.withUnsafeMutableBufferPointer { buffer in
            for pixel in 0..<(height * width) {
                for channel in 0..<channels {
                    buffer[channel * height * width + pixel] = Float(file.samples[pixel * channels + channel]) * scale
                }
            }
        }
        return tensor
    }

    /// The raw value of each mask pixel: the palette index, the gray level, or the RGB
    /// triple packed as `r << 16 | g << 8 | b`.
    public static func maskValues(_ file: PNGFile) -> [Int] {
        if let indices = file.indices { return indices.map(Int.init) }
        if file.channels == 1 { return file.samples.map(Int.init) }
        return (0..<(file.width * file.height)).map { pixel in
            (Int(file.samples[pixel * 3]) << 16) | (Int(file.samples[pixel * 3 + 1]) << 8) | Int(file.samples[pixel * 3 + 2])
        }
    }

    private static func deriveMapping(classes: Int, masks: [[Int]], names: [String], folder: URL) throws -> ClassMapping {
        guard classes > 1 else { return .binary }
        var distinct = Set<Int>()
        for mask in masks { distinct.formUnion(mask) }
        let values = distinct.sorted()
        guard values.count <= classes else {
            throw DatasetError(
                path: folder.path,
                reason: "masks hold \(values.count) distinct values \(Array(values.prefix(12))) but --classes is \(classes)")
        }
        return ClassMapping(classes: classes, values: values + (0..<(classes - values.count)).map { -1 - $0 })
    }
}
