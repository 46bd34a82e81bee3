import ArgumentParser
import TesseraSegmentation

/// Where labelled data comes from, as `train` and `evaluate` take it: a folder of
/// `images/` and `masks/`, or a pair of TIFF stacks.
struct DataOptions: ParsableArguments {
    @Option(help: "Folder with images/ and masks/ (PNG, JPEG, TIFF, GIF; for train, default: synthetic shapes).")
    var data: String?
    @Option(help: "What a mask's name adds to its image's before the extension (e.g. _mask: x.jpg ↔ x_mask.gif).")
    var maskSuffix: String?
    @Option(help: "Images as a multi-page TIFF stack (with --masks).")
    var images: String?
    @Option(help: "Masks as a multi-page TIFF stack, one page per image of --images.")
    var masks: String?

    /// The source the options name, nil for none; conflicting options are a usage error.
    func source() throws -> DataSource? {
        do {
            return try DataSource.from(folder: data, maskSuffix: maskSuffix, images: images, masks: masks, options: ("--data", "--images", "--masks"))
        } catch let error as DatasetError {
            throw ValidationError(error.reason)
        }
    }
}
