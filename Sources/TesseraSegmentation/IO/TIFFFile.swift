import CTIFF
import Foundation
import Tessera

/// TIFF files and multi-page TIFF stacks through libtiff: 8- and 16-bit gray (min-is-black
/// or min-is-white), RGB and RGBA (alpha dropped) and 8-bit palette pages, in strips or
/// tiles, with any compression libtiff decodes (none, LZW, Deflate, PackBits, …).
public enum TIFFFile {
    /// Every page of the file at `url`, in order.
    public static func readPages(_ url: URL) throws -> [Raster] {
        try decodePages(ImageFile.contents(of: url), path: url.path)
    }

    /// Every page of the bytes of a TIFF file; `path` names it in errors.
    public static func decodePages(_ data: Data, path: String) throws -> [Raster] {
        var bytes = [UInt8](data)
        return try bytes.withUnsafeMutableBytes { memory in
            var source = MemorySource(bytes: UnsafeRawBufferPointer(memory))
            return try withUnsafeMutablePointer(to: &source) { source in
                let messages = Messages()
                guard let tiff = open(source, messages: messages) else {
                    throw ImageFileError(path: path, reason: messages.first ?? "not a readable TIFF file")
                }
                defer { TIFFClose(tiff) }
                var pages: [Raster] = []
                repeat {
                    let page = pages.count
                    do {
                        pages.append(try decodePage(tiff, fileBytes: memory.count, messages: messages))
                    } catch let reason as PageProblem {
                        throw ImageFileError(path: path, page: page, reason: reason.text)
                    }
                    guard pages.count <= maximumPages else {
                        throw ImageFileError(path: path, reason: "has more than \(maximumPages) pages")
                    }
                } while TIFFReadDirectory(tiff) == 1
                if let late = messages.first, pages.isEmpty {
                    throw ImageFileError(path: path, reason: late)
                }
                return pages
            }
        }
    }

    /// The most pages a stack may hold.
    public static let maximumPages = 100_000

    /// Writes 8-bit (`bitDepth` 8) or 16-bit gray pages, LZW-compressed, as one file,
    /// atomically.
    public static func write(pages: [[UInt16]], width: Int, height: Int, bitDepth: Int, to url: URL) throws {
        require(bitDepth == 8 || bitDepth == 16, "TIFFFile.write: bit depth must be 8 or 16, got \(bitDepth)")
        require(pages.allSatisfy { $0.count == width * height }, "TIFFFile.write: every page needs \(width)×\(height) samples")
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).tif")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let messages = Messages()
        guard let tiff = withOptions(messages, { TIFFOpenExt(temporary.path, "w", $0) }) else {
            throw ImageFileError(path: url.path, reason: messages.first ?? "cannot create a TIFF file")
        }
        var failed = false
        for page in pages {
            set(tiff, TIFFTAG_IMAGEWIDTH, UInt32(width))
            set(tiff, TIFFTAG_IMAGELENGTH, UInt32(height))
            set(tiff, TIFFTAG_BITSPERSAMPLE, Int32(bitDepth))
            set(tiff, TIFFTAG_SAMPLESPERPIXEL, Int32(1))
            set(tiff, TIFFTAG_PHOTOMETRIC, Int32(PHOTOMETRIC_MINISBLACK))
            set(tiff, TIFFTAG_PLANARCONFIG, Int32(PLANARCONFIG_CONTIG))
            set(tiff, TIFFTAG_COMPRESSION, Int32(COMPRESSION_LZW))
            set(tiff, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tiff, 0))
            for row in 0..<height where !failed {
                let line = page[(row * width)..<((row + 1) * width)]
                let written: Int32
                if bitDepth == 8 {
                    var bytes = line.map { UInt8(truncatingIfNeeded: $0) }
                    written = bytes.withUnsafeMutableBytes { TIFFWriteScanline(tiff, $0.baseAddress, UInt32(row), 0) }
                } else {
                    var words = Array(line)
                    written = words.withUnsafeMutableBytes { TIFFWriteScanline(tiff, $0.baseAddress, UInt32(row), 0) }
                }
                failed = written != 1
            }
            if failed || TIFFWriteDirectory(tiff) != 1 { failed = true }
        }
        TIFFClose(tiff)
        guard !failed else { throw ImageFileError(path: url.path, reason: messages.first ?? "cannot encode the TIFF pages") }
        try AtomicFile.write(Data(contentsOf: temporary), to: url)
    }

    // MARK: Decoding one page

    private struct PageProblem: Error {
        let text: String
    }

    private static func decodePage(_ tiff: OpaquePointer, fileBytes: Int, messages: Messages) throws -> Raster {
        let width = Int(field(tiff, TIFFTAG_IMAGEWIDTH, as: UInt32.self) ?? 0)
        let height = Int(field(tiff, TIFFTAG_IMAGELENGTH, as: UInt32.self) ?? 0)
        if let problem = Raster.sizeProblem(width: width, height: height) { throw PageProblem(text: problem) }
        let bits = Int(defaulted(tiff, TIFFTAG_BITSPERSAMPLE, as: UInt16.self) ?? 1)
        let samplesPerPixel = Int(defaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, as: UInt16.self) ?? 1)
        let photometric = Int32(field(tiff, TIFFTAG_PHOTOMETRIC, as: UInt16.self) ?? UInt16(PHOTOMETRIC_MINISBLACK))
        let planar = Int32(defaulted(tiff, TIFFTAG_PLANARCONFIG, as: UInt16.self) ?? UInt16(PLANARCONFIG_CONTIG))
        let format = Int32(defaulted(tiff, TIFFTAG_SAMPLEFORMAT, as: UInt16.self) ?? UInt16(SAMPLEFORMAT_UINT))
        guard bits == 8 || bits == 16 else { throw PageProblem(text: "has \(bits)-bit samples; 8- and 16-bit are supported") }
        guard format == SAMPLEFORMAT_UINT else { throw PageProblem(text: "has signed or floating-point samples; unsigned integers are supported") }
        let isGray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE
        let isPalette = photometric == PHOTOMETRIC_PALETTE
        guard (isGray || isPalette) && samplesPerPixel >= 1 || photometric == PHOTOMETRIC_RGB && samplesPerPixel >= 3 else {
            throw PageProblem(text: "has photometric interpretation \(photometric) with \(samplesPerPixel) samples per pixel; gray, RGB and palette are supported")
        }
        guard planar == PLANARCONFIG_CONTIG || samplesPerPixel == 1 else {
            throw PageProblem(text: "stores its colour channels in separate planes, which is not supported")
        }
        guard !isPalette || bits == 8 else { throw PageProblem(text: "is a 16-bit palette image; 8-bit palettes are supported") }
        // The decoded page must be in proportion to the file: no codec expands data by more
        // than about 1000:1, so a larger claim is a damaged or hostile file.
        let decodedBytes = width * height * samplesPerPixel * bits / 8
        guard decodedBytes / 1024 <= fileBytes else {
            throw PageProblem(text: "declares \(width)×\(height) pixels (\(decodedBytes >> 20) MB decoded), far more than its \(fileBytes) bytes can hold")
        }
        let raw = try readSamples(tiff, width: width, height: height, samplesPerPixel: samplesPerPixel, bits: bits, messages: messages)
        let channels = isGray || isPalette ? 1 : 3
        var samples = [UInt16](repeating: 0, count: width * height * channels)
        let inverted = photometric == PHOTOMETRIC_MINISWHITE, maximum = UInt16((1 << bits) - 1)
        for pixel in 0..<(width * height) {
            for channel in 0..<channels {
                let value = raw[pixel * samplesPerPixel + channel]
                samples[pixel * channels + channel] = inverted ? maximum - value : value
            }
        }
        guard isPalette else { return Raster(width: width, height: height, channels: channels, bitDepth: bits, samples: samples) }
        var red: UnsafeMutablePointer<UInt16>?, green: UnsafeMutablePointer<UInt16>?, blue: UnsafeMutablePointer<UInt16>?
        let found = withUnsafeMutablePointer(to: &red) { r in
            withUnsafeMutablePointer(to: &green) { g in
                withUnsafeMutablePointer(to: &blue) { b in withVaList([r, g, b]) { TIFFVGetField(tiff, UInt32(TIFFTAG_COLORMAP), $0) } }
            }
        }
        guard found == 1, let red, let green, let blue else { throw PageProblem(text: "is a palette image without a colour map") }
        // TIFF colour maps hold 16-bit entries.
        let colors = (0..<256).map { (UInt8(red[$0] >> 8), UInt8(green[$0] >> 8), UInt8(blue[$0] >> 8)) }
        return Raster.palette(width: width, height: height, indices: samples.map { UInt8(truncatingIfNeeded: $0) }, colors: colors)
    }

    /// All samples of the page, `samplesPerPixel` per pixel, from strips or tiles.
    private static func readSamples(
        _ tiff: OpaquePointer, width: Int, height: Int, samplesPerPixel: Int, bits: Int, messages: Messages
    ) throws -> [UInt16] {
        let bytesPerSample = bits / 8, rowSamples = width * samplesPerPixel
        var samples = [UInt16](repeating: 0, count: height * rowSamples)
        func store(_ buffer: UnsafeRawPointer, count: Int, at offset: Int) {
            if bytesPerSample == 1 {
                let source = buffer.assumingMemoryBound(to: UInt8.self)
                for index in 0..<count { samples[offset + index] = UInt16(source[index]) }
            } else {
                let source = buffer.assumingMemoryBound(to: UInt16.self)
                for index in 0..<count { samples[offset + index] = source[index] }
            }
        }
        if TIFFIsTiled(tiff) != 0 {
            let tileWidth = Int(field(tiff, TIFFTAG_TILEWIDTH, as: UInt32.self) ?? 0)
            let tileHeight = Int(field(tiff, TIFFTAG_TILELENGTH, as: UInt32.self) ?? 0)
            guard tileWidth > 0, tileHeight > 0, tileWidth <= 1 << 16, tileHeight <= 1 << 16 else {
                throw PageProblem(text: "has tiles of \(tileWidth)×\(tileHeight)")
            }
            let tileBytes = Int(TIFFTileSize(tiff))
            guard tileBytes >= tileWidth * tileHeight * samplesPerPixel * bytesPerSample else { throw PageProblem(text: "has an inconsistent tile size") }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: tileBytes, alignment: 16)
            defer { buffer.deallocate() }
            for y in stride(from: 0, to: height, by: tileHeight) {
                for x in stride(from: 0, to: width, by: tileWidth) {
                    guard TIFFReadTile(tiff, buffer, UInt32(x), UInt32(y), 0, 0) >= 0 else {
                        throw PageProblem(text: "truncated or corrupt tile at (\(x), \(y))" + (messages.first.map { " (libtiff: \($0))" } ?? ""))
                    }
                    let columns = min(tileWidth, width - x)
                    for row in 0..<min(tileHeight, height - y) {
                        store(buffer + row * tileWidth * samplesPerPixel * bytesPerSample, count: columns * samplesPerPixel,
                              at: (y + row) * rowSamples + x * samplesPerPixel)
                    }
                }
            }
            return samples
        }
        let lineBytes = Int(TIFFScanlineSize(tiff))
        guard lineBytes >= rowSamples * bytesPerSample else { throw PageProblem(text: "has an inconsistent row size") }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: lineBytes, alignment: 16)
        defer { buffer.deallocate() }
        for row in 0..<height {
            guard TIFFReadScanline(tiff, buffer, UInt32(row), 0) == 1 else {
                throw PageProblem(text: "truncated or corrupt image data at row \(row)" + (messages.first.map { " (libtiff: \($0))" } ?? ""))
            }
            store(buffer, count: rowSamples, at: row * rowSamples)
        }
        return samples
    }

    // MARK: libtiff plumbing

    /// The messages libtiff reports for one file (instead of printing them).
    private final class Messages {
        var first: String?
    }

    private static func withOptions<T>(_ messages: Messages, _ body: (OpaquePointer?) -> T) -> T {
        let options = TIFFOpenOptionsAlloc()
        defer { TIFFOpenOptionsFree(options) }
        let context = Unmanaged.passUnretained(messages).toOpaque()
        TIFFOpenOptionsSetErrorHandlerExtR(options, { _, context, _, format, arguments in
            let messages = Unmanaged<Messages>.fromOpaque(context!).takeUnretainedValue()
            if messages.first == nil, let format, let arguments {
                var buffer = [CChar](repeating: 0, count: 256)
                _ = vsnprintf(&buffer, buffer.count, format, arguments)
                messages.first = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            return 1
        }, context)
        TIFFOpenOptionsSetWarningHandlerExtR(options, { _, _, _, _, _ in 1 }, nil)
        // No single allocation inside libtiff beyond 1 GB, whatever a header claims.
        TIFFOpenOptionsSetMaxSingleMemAlloc(options, 1 << 30)
        return body(options)
    }

    /// The bytes of a file being decoded and the read position.
    private struct MemorySource {
        let bytes: UnsafeRawBufferPointer
        var offset = 0
    }

    private static func open(_ source: UnsafeMutablePointer<MemorySource>, messages: Messages) -> OpaquePointer? {
        withOptions(messages) { options in
            TIFFClientOpenExt(
                "memory", "rm", source,
                { handle, buffer, size in
                    let source = handle!.assumingMemoryBound(to: MemorySource.self)
                    let count = max(0, min(Int(size), source.pointee.bytes.count - source.pointee.offset))
                    if count > 0 { buffer!.copyMemory(from: source.pointee.bytes.baseAddress! + source.pointee.offset, byteCount: count) }
                    source.pointee.offset += count
                    return tmsize_t(count)
                },
                { _, _, _ in 0 },
                { handle, offset, whence in
                    let source = handle!.assumingMemoryBound(to: MemorySource.self)
                    let base = whence == SEEK_CUR ? source.pointee.offset : whence == SEEK_END ? source.pointee.bytes.count : 0
                    let (target, overflow) = base.addingReportingOverflow(Int(truncatingIfNeeded: offset))
                    guard !overflow, target >= 0 else { return toff_t.max }
                    source.pointee.offset = target
                    return toff_t(target)
                },
                { _ in 0 },
                { handle in toff_t(handle!.assumingMemoryBound(to: MemorySource.self).pointee.bytes.count) },
                { _, _, _ in 0 },
                { _, _, _ in },
                options)
        }
    }

    private static func field<T: FixedWidthInteger>(_ tiff: OpaquePointer, _ tag: Int32, as: T.Type) -> T? {
        var value: T = 0
        let found = withUnsafeMutablePointer(to: &value) { pointer in withVaList([pointer]) { TIFFVGetField(tiff, UInt32(tag), $0) } }
        return found == 1 ? value : nil
    }

    private static func defaulted<T: FixedWidthInteger>(_ tiff: OpaquePointer, _ tag: Int32, as: T.Type) -> T? {
        var value: T = 0
        let found = withUnsafeMutablePointer(to: &value) { pointer in
            withVaList([pointer]) { TIFFVGetFieldDefaulted(tiff, UInt32(tag), $0) }
        }
        return found == 1 ? value : nil
    }

    private static func set(_ tiff: OpaquePointer, _ tag: Int32, _ value: CVarArg) {
        _ = withVaList([value]) { TIFFVSetField(tiff, UInt32(tag), $0) }
    }
}
