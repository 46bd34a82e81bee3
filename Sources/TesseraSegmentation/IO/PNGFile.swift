import CPNG
import Tessera
import Foundation

/// PNG files through libpng: 1- to 16-bit gray, gray+alpha, RGB, RGBA and palette read as
/// stored (alpha dropped); 8-bit gray or RGB and 16-bit gray written.
public enum PNGFile {
    /// Reads and decodes the file at `url`.
    public static func read(_ url: URL) throws -> Raster {
        try decode(ImageFile.contents(of: url), path: url.path)
    }

    /// Decodes the bytes of a PNG file; `path` names it in errors. Samples come as stored:
    /// no gamma correction (a gAMA chunk leaves mask labels alone), alpha dropped without
    /// blending, 16 bits kept, palette indices kept.
    public static func decode(_ data: Data, path: String) throws -> Raster {
        let header = try self.header(data, path: path)
        let (width, height) = (Int(header.width), Int(header.height))
        let count = width * height * Int(header.channels)
        // Deflate expands data at most about 1032 times: a file too small for its declared
        // pixels is damaged or hostile, and is refused before the pixels are allocated.
        guard count * Int(header.bit_depth) / 8 / 1100 <= data.count else {
            throw ImageFileError(
                path: path, reason: "declares \(width)×\(height) pixels, far more than its \(data.count) bytes can hold")
        }
        var info = tessera_png_info()
        let bytes = [UInt8](data)
        if header.is_palette != 0 {
            var indices = [UInt8](repeating: 0, count: count), palette = [UInt8](repeating: 0, count: 256 * 3)
            let status = indices.withUnsafeMutableBufferPointer { indices in
                palette.withUnsafeMutableBufferPointer { palette in
                    tessera_png_read(bytes, bytes.count, Self.maximumSide, Self.chunkLimit, &info, nil, indices.baseAddress, palette.baseAddress)
                }
            }
            guard status == 0 else { throw failure(&info, path: path) }
            let colors = (0..<256).map { (index: Int) -> (UInt8, UInt8, UInt8) in (palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2]) }
            return Raster.palette(width: width, height: height, indices: indices, colors: colors)
        }
        var samples = [UInt16](repeating: 0, count: count)
        let status = samples.withUnsafeMutableBufferPointer {
            tessera_png_read(bytes, bytes.count, Self.maximumSide, Self.chunkLimit, &info, $0.baseAddress, nil, nil)
        }
        guard status == 0 else { throw failure(&info, path: path) }
        return Raster(width: width, height: height, channels: Int(info.channels), bitDepth: Int(info.bit_depth), samples: samples)
    }

    /// The width and height the PNG in `data` declares, read from its header alone.
    public static func dimensions(_ data: Data, path: String) throws -> (width: Int, height: Int) {
        let header = try header(data, path: path)
        return (Int(header.width), Int(header.height))
    }

    /// The widest or tallest image libpng may decode, and the most one chunk may allocate.
    private static let maximumSide: UInt32 = 1 << 20
    private static let chunkLimit = 16 << 20

    private static func header(_ data: Data, path: String) throws -> tessera_png_info {
        guard !data.isEmpty else { throw ImageFileError(path: path, reason: "empty file (0 bytes), not a PNG") }
        var info = tessera_png_info()
        let bytes = [UInt8](data)
        try checkChunkLengths(bytes, path: path)
        guard tessera_png_read(bytes, bytes.count, maximumSide, chunkLimit, &info, nil, nil, nil) == 0 else {
            throw failure(&info, path: path)
        }
        if let problem = Raster.sizeProblem(width: Int(info.width), height: Int(info.height)) {
            throw ImageFileError(path: path, reason: problem)
        }
        return info
    }

    /// Refuses a chunk whose length field reaches past the end of the file before libpng
    /// allocates a buffer of that length (a 50-byte file claiming a 2 GiB chunk).
    private static func checkChunkLengths(_ bytes: [UInt8], path: String) throws {
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let kind = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard length <= bytes.count - offset - 12 else {
                throw ImageFileError(
                    path: path, reason: "chunk \(kind) claims \(length) bytes, past the end of the \(bytes.count)-byte file (truncated or damaged)")
            }
            if kind == "IEND" { return }
            offset += 12 + length
        }
    }

    private static func failure(_ info: inout tessera_png_info, path: String) -> ImageFileError {
        let message = withUnsafeBytes(of: &info.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return ImageFileError(path: path, reason: message.isEmpty ? "truncated or corrupt image data" : message)
    }

    /// Writes 8-bit gray (`channels` 1) or RGB (`channels` 3) samples atomically.
    public static func write(_ samples: [UInt8], width: Int, height: Int, channels: Int, to url: URL) throws {
        require(channels == 1 || channels == 3, "PNGFile.write: channels must be 1 or 3, got \(channels)")
        require(samples.count == width * height * channels, "PNGFile.write: \(samples.count) samples for \(width)×\(height)×\(channels)")
        let format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        try samples.withUnsafeBytes { try encode($0, width: width, height: height, format: format, rowStride: width * channels, to: url) }
    }

    /// Writes 16-bit gray samples atomically, as stored (mask values above 255).
    public static func write(gray16 samples: [UInt16], width: Int, height: Int, to url: URL) throws {
        require(samples.count == width * height, "PNGFile.write: \(samples.count) samples for \(width)×\(height)")
        try samples.withUnsafeBytes {
            try encode($0, width: width, height: height, format: UInt32(PNG_FORMAT_LINEAR_Y), rowStride: width, to: url)
        }
    }

    /// Encodes into memory with the simplified API (a first pass measures), then writes the
    /// file atomically.
    private static func encode(
        _ pixels: UnsafeRawBufferPointer, width: Int, height: Int, format: UInt32, rowStride: Int, to url: URL
    ) throws {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = format
        var size: Int = 0
        guard png_image_write_to_memory(&image, nil, &size, 0, pixels.baseAddress, Int32(rowStride), nil) != 0 else {
            throw ImageFileError(path: url.path, reason: reasonText(&image, fallback: "cannot encode PNG"))
        }
        var encoded = [UInt8](repeating: 0, count: size)
        let ok = encoded.withUnsafeMutableBytes { output in
            png_image_write_to_memory(&image, output.baseAddress, &size, 0, pixels.baseAddress, Int32(rowStride), nil)
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
