import CPNG
import Tessera
import Foundation

/// PNG files through libpng's simplified API: 8- and 16-bit gray, gray+alpha, RGB, RGBA
/// and palette (alpha dropped).
public enum PNGFile {
    /// Reads and decodes the file at `url`.
    public static func read(_ url: URL) throws -> Raster {
        try decode(ImageFile.contents(of: url), path: url.path)
    }

    /// Decodes the bytes of a PNG file; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> Raster {
        guard !data.isEmpty else { throw ImageFileError(path: path, reason: "empty file (0 bytes), not a PNG") }
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBytes { try decode(memory: $0, path: path) }
    }

    private static func decode(memory: UnsafeRawBufferPointer, path: String) throws -> Raster {
        func failure(_ reason: String) -> ImageFileError { ImageFileError(path: path, reason: reason) }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&image, memory.baseAddress, memory.count) != 0 else {
            throw failure(reasonText(&image, fallback: "not a readable PNG file"))
        }
        defer { png_image_free(&image) }
        let width = Int(image.width), height = Int(image.height)
        if let problem = Raster.sizeProblem(width: width, height: height) { throw failure(problem) }
        let sourceFormat = image.format
        let isPalette = sourceFormat & UInt32(PNG_FORMAT_FLAG_COLORMAP) != 0
        let isSixteenBit = sourceFormat & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
        let hasColor = sourceFormat & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let hasAlpha = sourceFormat & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0

        if isPalette {
            // Indices plus an RGBA colormap of up to 256 entries.
            image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_COLORMAP)
            var indices = [UInt8](repeating: 0, count: width * height)
            var colormap = [UInt8](repeating: 0, count: 256 * 4)
            let ok = indices.withUnsafeMutableBytes { pixels in
                colormap.withUnsafeMutableBytes { map in
                    png_image_finish_read(&image, nil, pixels.baseAddress, Int32(width), map.baseAddress)
                }
            }
            guard ok != 0 else { throw failure(reasonText(&image, fallback: "truncated or corrupt image data")) }
            let colors = (0..<256).map { (index: Int) -> (UInt8, UInt8, UInt8) in
                (colormap[index * 4], colormap[index * 4 + 1], colormap[index * 4 + 2])
            }
            return Raster.palette(width: width, height: height, indices: indices, colors: colors)
        }

        let readChannels = (hasColor ? 3 : 1) + (hasAlpha ? 1 : 0)
        image.format = (hasColor ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (hasAlpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
            | (isSixteenBit ? UInt32(PNG_FORMAT_FLAG_LINEAR) : 0)
        let channels = hasColor ? 3 : 1
        var samples = [UInt16](repeating: 0, count: width * height * channels)
        if isSixteenBit {
            var raw = [UInt16](repeating: 0, count: width * height * readChannels)
            let ok = raw.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * readChannels), nil) }
            guard ok != 0 else { throw failure(reasonText(&image, fallback: "truncated or corrupt image data")) }
            for pixel in 0..<(width * height) {
                for channel in 0..<channels { samples[pixel * channels + channel] = raw[pixel * readChannels + channel] }
            }
        } else {
            var raw = [UInt8](repeating: 0, count: width * height * readChannels)
            let ok = raw.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * readChannels), nil) }
            guard ok != 0 else { throw failure(reasonText(&image, fallback: "truncated or corrupt image data")) }
            for pixel in 0..<(width * height) {
                for channel in 0..<channels { samples[pixel * channels + channel] = UInt16(raw[pixel * readChannels + channel]) }
            }
        }
        return Raster(width: width, height: height, channels: channels, bitDepth: isSixteenBit ? 16 : 8, samples: samples)
    }

    /// Writes 8-bit gray (`channels` 1) or RGB (`channels` 3) samples atomically.
    public static func write(_ samples: [UInt8], width: Int, height: Int, channels: Int, to url: URL) throws {
        require(channels == 1 || channels == 3, "PNGFile.write: channels must be 1 or 3, got \(channels)")
        require(samples.count == width * height * channels, "PNGFile.write: \(samples.count) samples for \(width)×\(height)×\(channels)")
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        var size: Int = 0
        // First pass measures, second pass encodes into memory; then an atomic write.
        let measured = samples.withUnsafeBytes {
            png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, Int32(width * channels), nil)
        }
        guard measured != 0 else { throw ImageFileError(path: url.path, reason: reasonText(&image, fallback: "cannot encode PNG")) }
        var encoded = [UInt8](repeating: 0, count: size)
        let ok = encoded.withUnsafeMutableBytes { output in
            samples.withUnsafeBytes {
                png_image_write_to_memory(&image, output.baseAddress, &size, 0, $0.baseAddress, Int32(width * channels), nil)
            }
        }
        guard ok != 0 else { throw ImageFileError(path: url.path, reason: reasonText(&image, fallback: "cannot encode PNG")) }
        try AtomicFile.write(Data(encoded.prefix(size)), to: url)
    }

    /// libpng's own message, or `fallback`.
    private static func reasonText(_ image: inout png_image, fallback: String) -> String {
        let message = withUnsafeBytes(of: &image.message) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return message.isEmpty ? fallback : message
    }
}
