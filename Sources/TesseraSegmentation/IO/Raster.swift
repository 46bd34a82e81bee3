/// A decoded image page: samples row-major, interleaved by channel, alpha dropped; the
/// common form of every image format Tessera reads.
///
/// Palette images keep their palette indices in ``indices`` (a mask's classes) and are
/// expanded to RGB in ``samples``.
public struct Raster: Sendable, Equatable {
    /// The largest image accepted, in pixels (checked before pixel data is allocated).
    public static let maximumPixels = 1 << 28

    public let width: Int
    public let height: Int
    /// 1 for gray, 3 for colour.
    public let channels: Int
    /// 8 or 16.
    public let bitDepth: Int
    /// Samples in `0...(2^bitDepth − 1)`, `height · width · channels` of them.
    public let samples: [UInt16]
    /// For palette images, the palette index of every pixel.
    public let indices: [UInt8]?

    public init(width: Int, height: Int, channels: Int, bitDepth: Int, samples: [UInt16], indices: [UInt8]? = nil) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.samples = samples
        self.indices = indices
    }

    /// The largest value a sample can take.
    public var maximumValue: Int { (1 << bitDepth) - 1 }

    /// A palette image from its indices and an RGB palette of 8-bit entries.
    static func palette(width: Int, height: Int, indices: [UInt8], colors: [(UInt8, UInt8, UInt8)]) -> Raster {
        var samples = [UInt16](repeating: 0, count: indices.count * 3)
        for (pixel, index) in indices.enumerated() where Int(index) < colors.count {
            let color = colors[Int(index)]
            (samples[pixel * 3], samples[pixel * 3 + 1], samples[pixel * 3 + 2]) = (UInt16(color.0), UInt16(color.1), UInt16(color.2))
        }
        return Raster(width: width, height: height, channels: 3, bitDepth: 8, samples: samples, indices: indices)
    }

    /// Why `width × height` cannot be decoded, or nil when it is within the limits.
    static func sizeProblem(width: Int, height: Int) -> String? {
        guard width > 0, height > 0 else { return "has no pixels (\(width)×\(height))" }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maximumPixels else {
            return "dimensions \(width)×\(height) exceed the limit of \(maximumPixels) pixels"
        }
        return nil
    }
}

/// Why an image file could not be read or written; names the file and, in a stack, the
/// page.
public struct ImageFileError: Error, Equatable, CustomStringConvertible {
    public let path: String
    /// The page (0-based) of a multi-page file, when the error concerns one.
    public let page: Int?
    public let reason: String

    public init(path: String, page: Int? = nil, reason: String) {
        self.path = path
        self.page = page
        self.reason = reason
    }

    public var description: String { "\(path)\(page.map { " page \($0)" } ?? ""): \(reason)" }
}
