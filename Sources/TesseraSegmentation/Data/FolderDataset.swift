import Foundation
import Tessera

/// Loads a dataset folder holding `images/` and `masks/`: PNG, JPEG, TIFF or GIF files in
/// any mix, each mask named as its image (any extension), optionally with a suffix
/// (`x.jpg` ↔ `x_mask.gif` with mask suffix `_mask`, as Pytorch-UNet's Carvana layout).
///
/// The whole folder is checked before anything is returned: a missing, ambiguous or extra
/// mask, an unreadable file, a size mismatch, mixed channel counts or mask values that do
/// not fit the classes each fail with an error naming the file.
public enum FolderDataset {
    /// The image file names of a folder (extensions in ``ImageFile/extensions``), sorted.
    public static func imageNames(in folder: URL) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(path: folder.path, reason: "folder not found")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return names.filter { ImageFile.extensions.contains(extensionOf($0)) && !$0.hasPrefix(".") }.sorted()
    }

    /// Loads and validates the folder.
    ///
    /// - Parameters:
    ///   - classes: 1 for binary masks, otherwise the number of classes.
    ///   - mapping: a mapping to apply (from a checkpoint); nil derives it from the masks.
    ///   - maskSuffix: what a mask's name adds to its image's name before the extension.
    public static func load(_ folder: URL, classes: Int, mapping: ClassMapping? = nil, maskSuffix: String = "") throws -> SegmentationDataset {
        let imageFolder = folder.appendingPathComponent("images"), maskFolder = folder.appendingPathComponent("masks")
        let layout = "images/ and masks/ with image files (PNG, JPEG, TIFF, GIF), each mask named as its image\(maskSuffix.isEmpty ? "" : " plus '\(maskSuffix)'")"
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw DatasetError(path: folder.path, reason: "dataset folder not found")
        }
        guard FileManager.default.fileExists(atPath: imageFolder.path) else {
            throw DatasetError(path: folder.path, reason: "no images/ folder (expected \(layout))")
        }
        guard FileManager.default.fileExists(atPath: maskFolder.path) else {
            throw DatasetError(path: folder.path, reason: "images/ has no masks/ beside it (expected \(layout))")
        }
        let imageNames = try Self.imageNames(in: imageFolder), maskNames = try Self.imageNames(in: maskFolder)
        guard !imageNames.isEmpty else { throw DatasetError(path: imageFolder.path, reason: "no image files (PNG, JPEG, TIFF, GIF)") }
        let masksByStem = Dictionary(grouping: maskNames) { stem(of: $0) }
        var pairs: [LabelledImages.Pair] = [], used = Set<String>()
        for name in imageNames {
            let wanted = stem(of: name) + maskSuffix
            guard let candidates = masksByStem[wanted] else {
                let expected = wanted + "." + extensionOf(name)
                throw DatasetError(
                    path: maskFolder.appendingPathComponent(expected).path,
                    reason: "mask missing for image \(name) (looked for \(wanted) with any image extension)")
            }
            guard candidates.count == 1 else {
                throw DatasetError(path: maskFolder.path, reason: "image \(name) has several masks: \(candidates.joined(separator: ", "))")
            }
            used.insert(candidates[0])
            let imageURL = imageFolder.appendingPathComponent(name), maskURL = maskFolder.appendingPathComponent(candidates[0])
            let image = try ImageFile.read(imageURL), maskData = try ImageFile.contents(of: maskURL)
            // A mask of the wrong size is refused from its header, before its pixels are decoded.
            if let size = try ImageFile.declaredSize(maskData, path: maskURL.path), size != (image.width, image.height) {
                throw DatasetError(path: maskURL.path, reason: "mask is \(size.width)×\(size.height) but its image is \(image.width)×\(image.height)")
            }
            let mask = try ImageFile.decodeSingle(maskData, path: maskURL.path)
            pairs.append(LabelledImages.Pair(name: name, image: image, imageSource: imageURL.path, mask: mask, maskSource: maskURL.path))
        }
        if let extra = Set(maskNames).subtracting(used).sorted().first {
            throw DatasetError(
                path: maskFolder.appendingPathComponent(extra).path,
                reason: "mask has no image in images/ (an image's mask is named as the image\(maskSuffix.isEmpty ? "" : " plus '\(maskSuffix)'"))")
        }
        return try LabelledImages.dataset(pairs, classes: classes, mapping: mapping, masksSource: maskFolder.path)
    }

    /// The image as `[C, H, W]` floats in [0, 1]: each sample divided by the largest value
    /// of its bit depth (255 for 8-bit, 65 535 for 16-bit).
    public static func imageTensor(_ raster: Raster) -> Tensor {
        let (height, width, channels) = (raster.height, raster.width, raster.channels)
        let scale = 1 / Float(raster.maximumValue)
        var tensor = Tensor.zeros([channels, height, width])
        tensor.withUnsafeMutableBufferPointer { buffer in
            for pixel in 0..<(height * width) {
                for channel in 0..<channels {
                    buffer[channel * height * width + pixel] = Float(raster.samples[pixel * channels + channel]) * scale
                }
            }
        }
        return tensor
    }

    /// The raw value of each mask pixel: the palette index, the gray level, or the RGB
    /// triple packed as `r << 2b | g << b | b` for samples of `b` bits, so that every
    /// distinct colour is a distinct value.
    public static func maskValues(_ raster: Raster) -> [Int] {
        if let indices = raster.indices { return indices.map(Int.init) }
        if raster.channels == 1 { return raster.samples.map(Int.init) }
        let bits = raster.bitDepth
        return (0..<(raster.width * raster.height)).map { pixel in
            (Int(raster.samples[pixel * 3]) << (2 * bits)) | (Int(raster.samples[pixel * 3 + 1]) << bits) | Int(raster.samples[pixel * 3 + 2])
        }
    }

    static func stem(of name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    static func extensionOf(_ name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }
}
