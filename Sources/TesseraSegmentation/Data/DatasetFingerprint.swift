import Foundation

/// What a training set looks like, the facts a training plan starts from (as nnU-Net's
/// dataset fingerprint): image sizes and channels, class balance, the size of the objects
/// (4-connected components of non-background pixels) and how much of the background lies
/// in narrow gaps between two objects.
public struct DatasetFingerprint: Sendable, Equatable {
    public let imageCount: Int
    public let channels: Int
    public let medianHeight: Int, medianWidth: Int
    /// The smallest height or width of any image.
    public let smallestSide: Int
    /// Share of all pixels that are not background (class 0).
    public let foregroundFraction: Double
    /// Median over all objects of the diameter of a disc of the object's area, in pixels
    /// (0 when there are none).
    public let medianObjectDiameter: Double
    public let objectsPerImage: Double
    /// Share of background pixels whose nearest two objects are together less than
    /// ``gapWidth`` away: the thin borders between touching objects that the U-Net paper's
    /// weight map emphasises.
    public let narrowGapFraction: Double
    /// The budget for the fingerprint's analysis: at most this many images, evenly spaced.
    public static let analysedImages = 64
    /// A gap counts as narrow when d1 + d2 < 2σ of ``BorderWeights`` (where its weight
    /// term is above w0·e⁻²).
    public static let gapWidth: Float = 2 * BorderWeights().sigma

    public init(
        imageCount: Int, channels: Int, medianHeight: Int, medianWidth: Int, smallestSide: Int, foregroundFraction: Double,
        medianObjectDiameter: Double, objectsPerImage: Double, narrowGapFraction: Double
    ) {
        (self.imageCount, self.channels, self.medianHeight, self.medianWidth) = (imageCount, channels, medianHeight, medianWidth)
        (self.smallestSide, self.foregroundFraction, self.medianObjectDiameter) = (smallestSide, foregroundFraction, medianObjectDiameter)
        (self.objectsPerImage, self.narrowGapFraction) = (objectsPerImage, narrowGapFraction)
    }

    /// The fingerprint of `dataset`; the object statistics come from at most
    /// ``analysedImages`` of its masks.
    public init(_ dataset: SegmentationDataset) {
        let samples = dataset.samples
        imageCount = samples.count
        channels = dataset.channels
        smallestSide = dataset.smallestSize
        medianHeight = Self.median(samples.map(\.height)) ?? 0
        medianWidth = Self.median(samples.map(\.width)) ?? 0
        let stride = max(1, (samples.count + Self.analysedImages - 1) / Self.analysedImages)
        var (pixels, foreground, background, narrow) = (0, 0, 0, 0)
        var diameters: [Double] = []
        var analysed = 0
        for sample in Swift.stride(from: 0, to: samples.count, by: stride).map({ samples[$0] }) {
            let (height, width, labels) = (sample.height, sample.width, sample.labels)
            analysed += 1
            pixels += labels.count
            let objects = BorderWeights.components(labels: labels, height: height, width: width)
            diameters += objects.map { (4 * Double($0.pixels.count) / Double.pi).squareRoot() }
            let foregroundHere = objects.reduce(0) { $0 + $1.pixels.count }
            foreground += foregroundHere
            background += labels.count - foregroundHere
            guard objects.count > 1 else { continue }
            narrow += BorderWeights().gaps(between: objects, labels: labels, width: width).reduce(0) { $0 + ($1 < Self.gapWidth ? 1 : 0) }
        }
        foregroundFraction = pixels > 0 ? Double(foreground) / Double(pixels) : 0
        medianObjectDiameter = Self.median(diameters) ?? 0
        objectsPerImage = analysed > 0 ? Double(diameters.count) / Double(analysed) : 0
        narrowGapFraction = background > 0 ? Double(narrow) / Double(background) : 0
    }

    /// For people, one line: "20 images of 512×512, 1 channel; 22 % foreground; …".
    public var summary: String {
        String(
            format: "%ld images of %ld×%ld (median), %ld channel%@; %.0f %% foreground; %.1f objects per image, median diameter %.0f px; %.0f %% of the background in gaps narrower than %.0f px",
            imageCount, medianHeight, medianWidth, channels, (channels == 1 ? "" : "s") as NSString, 100 * foregroundFraction,
            objectsPerImage, medianObjectDiameter, 100 * narrowGapFraction, Double(Self.gapWidth))
    }

    private static func median<T: Comparable>(_ values: [T]) -> T? {
        values.isEmpty ? nil : values.sorted()[values.count / 2]
    }
}
