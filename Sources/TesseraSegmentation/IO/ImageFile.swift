import Foundation
import Tessera

/// Reads PNG, JPEG, TIFF and GIF files, telling the format by its signature (so a file
/// whose extension lies is still read as what it is).
public enum ImageFile {
    /// The file extensions of image files in a dataset folder (compared case-insensitively).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg", "tif", "tiff", "gif"]

    /// The formats Tessera decodes.
    public enum Format: String, Sendable {
        case png = "PNG", jpeg = "JPEG", tiff = "TIFF", gif = "GIF"

        /// The format whose signature `bytes` start with.
        init?(signature bytes: Data) {
            let head = [UInt8](bytes.prefix(8))
            func starts(_ prefix: [UInt8]) -> Bool { head.count >= prefix.count && Array(head.prefix(prefix.count)) == prefix }
            if starts([0x89, 0x50, 0x4E, 0x47]) {
                self = .png
            } else if starts([0xFF, 0xD8, 0xFF]) {
                self = .jpeg
            } else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) || starts([0x49, 0x49, 0x2B, 0x00])
                || starts([0x4D, 0x4D, 0x00, 0x2B]) {
                self = .tiff
            } else if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) {
                self = .gif
            } else {
                return nil
            }
        }
    }

    /// Every page of the file at `url`: one for PNG, JPEG and GIF, one per directory of a
    /// TIFF.
    public static func readPages(_ url: URL) throws -> [Raster] {
        try decodePages(contents(of: url), path: url.path)
    }

    /// Every page of the bytes of an image file of any of the four formats; `path` names
    /// it in errors.
    public static func decodePages(_ data: Data, path: String) throws -> [Raster] {
        switch try format(of: data, path: path) {
        case .png: [try PNGFile.decode(data, path: path)]
        case .jpeg: [try JPEGFile.decode(data, path: path)]
        case .gif: [try GIFFile.decode(data, path: path)]
        case .tiff: try TIFFFile.decodePages(data, path: path)
        }
    }

    /// The single image in the file at `url`; a multi-page TIFF is refused (stacks are
    /// read with ``readPages(_:)``).
    public static func read(_ url: URL) throws -> Raster {
        try decodeSingle(contents(of: url), path: url.path)
    }

    /// The single image in the bytes of an image file; a multi-page TIFF is refused.
    static func decodeSingle(_ data: Data, path: String) throws -> Raster {
        let pages = try decodePages(data, path: path)
        guard pages.count == 1 else {
            throw ImageFileError(path: path, reason: "is a stack of \(pages.count) pages; pass stacks as --images STACK --masks STACK")
        }
        return pages[0]
    }

    /// The width and height the bytes of an image file declare in its header, read
    /// without decoding its pixels; nil for formats whose size is only known by decoding
    /// (JPEG, TIFF, GIF are bounded by their own checks).
    static func declaredSize(_ data: Data, path: String) throws -> (width: Int, height: Int)? {
        guard try format(of: data, path: path) == .png else { return nil }
        return try PNGFile.dimensions(data, path: path)
    }

    /// The format of `data`, or an error naming the file.
    static func format(of data: Data, path: String) throws -> Format {
        guard !data.isEmpty else { throw ImageFileError(path: path, reason: "empty file (0 bytes), not an image") }
        guard let format = Format(signature: data) else {
            throw ImageFileError(path: path, reason: "not a PNG, JPEG, TIFF or GIF file (unknown signature)")
        }
        return format
    }

    /// The bytes of a regular file, or an error naming it: a folder, a device or FIFO, or
    /// a file that cannot be opened.
    static func contents(of url: URL) throws -> Data {
        do {
            return try FileContents.read(url)
        } catch {
            let reason = error.reason.hasPrefix("is ") ? error.reason : "cannot read the file (\(error.reason))"
            throw ImageFileError(path: url.path, reason: reason)
        }
    }
}
