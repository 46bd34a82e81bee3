import Foundation

/// Where labelled images come from: a folder of `images/` and `masks/`, or a pair of
/// multi-page TIFF stacks.
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    case folder(URL, maskSuffix: String)
    case stacks(images: URL, masks: URL)

    /// The source the options name: a folder (`--data`, with `--mask-suffix`) or both stacks
    /// (`--images`, `--masks`); nil when none is named.
    public static func from(
        folder: String?, maskSuffix: String?, images: String?, masks: String?, options: (folder: String, images: String, masks: String)
    ) throws -> DataSource? {
        switch (folder, images, masks) {
        case (nil, nil, nil): return nil
        case (let folder?, nil, nil): return .folder(URL(fileURLWithPath: folder), maskSuffix: maskSuffix ?? "")
        case (nil, let images?, let masks?):
            guard maskSuffix == nil else { throw DatasetError(path: images, reason: "--mask-suffix applies to folders, not to stacks") }
            return .stacks(images: URL(fileURLWithPath: images), masks: URL(fileURLWithPath: masks))
        case (nil, _?, nil), (nil, nil, _?):
            throw DatasetError(path: images ?? masks ?? "", reason: "\(options.images) and \(options.masks) go together: pass both stacks")
        default:
            throw DatasetError(path: folder ?? "", reason: "\(options.folder) (a folder) and \(options.images)/\(options.masks) (stacks) exclude each other")
        }
    }

    /// Loads and validates every image and mask.
    public func load(classes: Int, mapping: ClassMapping? = nil) throws -> SegmentationDataset {
        switch self {
        case let .folder(url, suffix): try FolderDataset.load(url, classes: classes, mapping: mapping, maskSuffix: suffix)
        case let .stacks(images, masks): try StackDataset.load(images: images, masks: masks, classes: classes, mapping: mapping)
        }
    }

    public var description: String {
        switch self {
        case let .folder(url, _): url.path
        case let .stacks(images, masks): "\(images.path) + \(masks.path)"
        }
    }
}
