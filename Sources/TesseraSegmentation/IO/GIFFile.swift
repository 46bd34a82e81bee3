import CGIF
import Foundation

/// GIF files through giflib: the first frame, as palette indices (a mask's classes) and
/// RGB, placed on the logical screen filled with the background colour.
public enum GIFFile {
    /// Reads and decodes the file at `url`.
    public static func read(_ url: URL) throws -> Raster {
        try decode(ImageFile.contents(of: url), path: url.path)
    }

    /// Decodes the bytes of a GIF file; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> Raster {
        var source = MemorySource(bytes: [UInt8](data))
        return try withUnsafeMutablePointer(to: &source) { source in
            var code: Int32 = 0
            guard let gif = DGifOpen(source, { gif, buffer, count in
                let source = gif!.pointee.UserData.assumingMemoryBound(to: MemorySource.self)
                let available = max(0, min(Int(count), source.pointee.bytes.count - source.pointee.offset))
                source.pointee.bytes.withUnsafeBufferPointer { bytes in
                    if available > 0 { buffer!.update(from: bytes.baseAddress! + source.pointee.offset, count: available) }
                }
                source.pointee.offset += available
                return Int32(available)
            }, &code) else {
                throw ImageFileError(path: path, reason: message(code, fallback: "not a readable GIF file"))
            }
            defer { DGifCloseFile(gif, &code) }
            return try firstFrame(gif, path: path)
        }
    }

    private struct MemorySource {
        let bytes: [UInt8]
        var offset = 0
    }

    private static func message(_ code: Int32, fallback: String) -> String {
        GifErrorString(code).map { String(cString: $0) } ?? fallback
    }

    /// Reads records up to the first image and decodes it line by line, so that nothing is
    /// allocated before the sizes have been checked.
    private static func firstFrame(_ gif: UnsafeMutablePointer<GifFileType>, path: String) throws -> Raster {
        func failure(_ fallback: String) -> ImageFileError {
            ImageFileError(path: path, reason: message(gif.pointee.Error, fallback: fallback))
        }
        let width = Int(gif.pointee.SWidth), height = Int(gif.pointee.SHeight)
        if let problem = Raster.sizeProblem(width: width, height: height) { throw ImageFileError(path: path, reason: problem) }
        while true {
            var record = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(gif, &record) == GIF_OK else { throw failure("truncated or corrupt GIF data") }
            switch record {
            case IMAGE_DESC_RECORD_TYPE:
                guard DGifGetImageDesc(gif) == GIF_OK else { throw failure("corrupt image descriptor") }
                return try decodeImage(gif, screenWidth: width, screenHeight: height, path: path, failure: failure)
            case EXTENSION_RECORD_TYPE:
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>?
                guard DGifGetExtension(gif, &code, &block) == GIF_OK else { throw failure("corrupt extension block") }
                while block != nil {
                    guard DGifGetExtensionNext(gif, &block) == GIF_OK else { throw failure("corrupt extension block") }
                }
            case TERMINATE_RECORD_TYPE:
                throw ImageFileError(path: path, reason: "holds no image")
            default:
                throw failure("corrupt GIF record")
            }
        }
    }

    private static func decodeImage(
        _ gif: UnsafeMutablePointer<GifFileType>, screenWidth: Int, screenHeight: Int, path: String,
        failure: (String) -> ImageFileError
    ) throws -> Raster {
        let description = gif.pointee.Image
        let left = Int(description.Left), top = Int(description.Top)
        let width = Int(description.Width), height = Int(description.Height)
        guard width > 0, height > 0, left >= 0, top >= 0, left + width <= screenWidth, top + height <= screenHeight else {
            throw ImageFileError(
                path: path, reason: "its first frame (\(width)×\(height) at \(left), \(top)) lies outside the \(screenWidth)×\(screenHeight) screen")
        }
        guard let map = description.ColorMap ?? gif.pointee.SColorMap else {
            throw ImageFileError(path: path, reason: "has no colour map")
        }
        let colors = (0..<Int(map.pointee.ColorCount)).map { index -> (UInt8, UInt8, UInt8) in
            let color = map.pointee.Colors[index]
            return (color.Red, color.Green, color.Blue)
        }
        var indices = [UInt8](repeating: UInt8(truncatingIfNeeded: gif.pointee.SBackGroundColor), count: screenWidth * screenHeight)
        var line = [GifByteType](repeating: 0, count: width)
        // Interlaced images come in four passes: every 8th row from 0, every 8th from 4,
        // every 4th from 2, every 2nd from 1.
        let passes = description.Interlace ? [(0, 8), (4, 8), (2, 4), (1, 2)] : [(0, 1)]
        for (start, step) in passes {
            for row in stride(from: start, to: height, by: step) {
                guard DGifGetLine(gif, &line, Int32(width)) == GIF_OK else { throw failure("truncated or corrupt image data") }
                let offset = (top + row) * screenWidth + left
                for column in 0..<width { indices[offset + column] = line[column] }
            }
        }
        if let index = indices.first(where: { Int($0) >= colors.count }) {
            throw ImageFileError(path: path, reason: "uses colour \(index) of a \(colors.count)-colour map")
        }
        return Raster.palette(width: screenWidth, height: screenHeight, indices: indices, colors: colors)
    }
}
