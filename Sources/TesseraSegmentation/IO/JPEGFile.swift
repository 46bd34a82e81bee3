import CJPEG
import Foundation

/// JPEG files through libjpeg-turbo's TurboJPEG API: gray and colour (YCbCr, RGB), 8-bit.
/// A warning (truncated or corrupt data) stops decoding and is reported as an error.
public enum JPEGFile {
    /// Reads and decodes the file at `url`.
    public static func read(_ url: URL) throws -> Raster {
        try decode(ImageFile.contents(of: url), path: url.path)
    }

    /// Decodes the bytes of a JPEG file; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> Raster {
        guard let decoder = tjInitDecompress() else { throw ImageFileError(path: path, reason: "cannot start the JPEG decoder") }
        defer { tjDestroy(decoder) }
        func failure(_ fallback: String) -> ImageFileError {
            let message = tjGetErrorStr2(decoder).map { String(cString: $0) } ?? ""
            return ImageFileError(path: path, reason: message.isEmpty || message == "No error" ? fallback : message)
        }
        var bytes = [UInt8](data)
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeMutableBufferPointer {
            tjDecompressHeader3(decoder, $0.baseAddress, UInt(data.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0 else { throw failure("not a readable JPEG file") }
        if let problem = Raster.sizeProblem(width: Int(width), height: Int(height)) { throw ImageFileError(path: path, reason: problem) }
        guard colorspace != TJCS_CMYK.rawValue && colorspace != TJCS_YCCK.rawValue else {
            throw ImageFileError(path: path, reason: "is a CMYK JPEG; gray and colour (RGB/YCbCr) are supported")
        }
        let gray = colorspace == TJCS_GRAY.rawValue
        let channels = gray ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
        let flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS
        let result = bytes.withUnsafeMutableBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(
                    decoder, source.baseAddress, UInt(data.count), target.baseAddress, width, 0, height,
                    gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue, flags)
            }
        }
        guard result == 0 else { throw failure("truncated or corrupt JPEG data") }
        return Raster(width: Int(width), height: Int(height), channels: channels, bitDepth: 8, samples: pixels.map(UInt16.init))
    }
}
