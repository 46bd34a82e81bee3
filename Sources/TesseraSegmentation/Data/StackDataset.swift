import Foundation

/// Loads a pair of multi-page TIFF stacks (as the ISBI 2012 challenge ships them:
/// `train-volume.tif` with `train-labels.tif`): page `i` of the images is a sample whose
/// mask is page `i` of the masks. Sample names are the images' file stem and page number
/// (`train-volume-0007`).
public enum StackDataset {
    /// Loads and validates both stacks: equal page counts, every page's mask of its
    /// image's size, the same channels throughout.
    public static func load(images: URL, masks: URL, classes: Int, mapping: ClassMapping? = nil) throws -> SegmentationDataset {
        let imagePages = try ImageFile.readPages(images), maskPages = try ImageFile.readPages(masks)
        guard imagePages.count == maskPages.count else {
            throw DatasetError(
                path: masks.path, reason: "has \(maskPages.count) page(s) but the image stack \(images.path) has \(imagePages.count)")
        }
        let stem = FolderDataset.stem(of: images.lastPathComponent)
        let pairs = zip(imagePages, maskPages).enumerated().map { page, pages in
            LabelledImages.Pair(
                name: pageName(stem: stem, page: page, of: imagePages.count), image: pages.0, imageSource: "\(images.path) page \(page)",
                mask: pages.1, maskSource: "\(masks.path) page \(page)")
        }
        return try LabelledImages.dataset(pairs, classes: classes, mapping: mapping, masksSource: masks.path)
    }

    /// `stem-0007`: the page number zero-padded to at least four digits, so names sort in
    /// page order.
    public static func pageName(stem: String, page: Int, of count: Int) -> String {
        let digits = max(4, String(max(count - 1, 0)).count)
        let number = String(page)
        return stem + "-" + String(repeating: "0", count: max(0, digits - number.count)) + number
    }
}
