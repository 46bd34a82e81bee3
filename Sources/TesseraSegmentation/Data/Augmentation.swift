import Foundation
import Tessera

/// Random crops, flips and 90° rotations applied identically to an image and its mask;
/// optionally also the U-Net paper's elastic deformation, rotation by any angle, scaling
/// and intensity jitter (nnU-Net's set). Warped images are resampled bilinearly and masks
/// by nearest neighbour, so that labels stay labels; beyond the image's border both are
/// mirrored, as in the U-Net paper.
public struct Augmentation: Sendable {
    /// The side of the square crop; nil keeps whole images.
    public let cropSize: Int?
    /// Whether to flip and rotate by quarter turns at random.
    public let flipsAndRotations: Bool
    /// The displacement of elastic deformation, nil for none.
    public var elastic: ElasticDeformation?
    /// Whether to rotate by an angle drawn uniformly from the whole circle.
    public var rotation = false
    /// The range of zoom factors, drawn log-uniformly (above 1 magnifies); nil for none.
    public var scaling: ClosedRange<Float>?
    /// Whether to jitter brightness, contrast and gamma (each with probability ½).
    public var intensity = false

    /// The U-Net paper's elastic deformation: random displacement vectors on a
    /// `grid`×`grid` lattice over the crop, each coordinate normal with standard deviation
    /// `sigma` pixels, interpolated bicubically to every pixel.
    public struct ElasticDeformation: Sendable, Equatable {
        public let grid: Int, sigma: Float

        public init(grid: Int = 3, sigma: Float = 10) {
            require(grid >= 2 && sigma >= 0, "ElasticDeformation: needs a grid of at least 2 points and sigma ≥ 0")
            (self.grid, self.sigma) = (grid, sigma)
        }
    }

    public init(cropSize: Int?, flipsAndRotations: Bool) {
        self.cropSize = cropSize
        self.flipsAndRotations = flipsAndRotations
    }

    /// This augmentation with the extras of `tessera train` switched on as chosen: the U-Net
    /// paper's elastic deformation (3×3 grid, 10 px), rotation by any angle, zoom from 0.8
    /// to 1.25, intensity jitter.
    public func with(elastic: Bool, rotation: Bool, scaling: Bool, intensity: Bool) -> Augmentation {
        var result = self
        result.elastic = elastic ? ElasticDeformation() : nil
        result.rotation = rotation
        result.scaling = scaling ? 0.8...1.25 : nil
        result.intensity = intensity
        return result
    }

    /// No augmentation: whole images, unchanged.
    public static let none = Augmentation(cropSize: nil, flipsAndRotations: false)

    /// The augmentations beyond crops, flips and quarter turns, in words.
    public var extras: [String] {
        [(elastic != nil, "elastic"), (rotation, "rotation"), (scaling != nil, "zoom"), (intensity, "intensity")].filter(\.0).map(\.1)
    }

    /// Whether the crop is resampled rather than copied.
    public var warps: Bool { elastic != nil || rotation || scaling != nil }

    /// A transformed copy of `sample`, drawing its choices from `generator`.
    public func apply(to sample: SegmentationSample, using generator: inout RandomGenerator) -> (image: Tensor, labels: [Int32]) {
        let (height, width) = (sample.height, sample.width)
        let cropHeight = min(cropSize ?? height, height), cropWidth = min(cropSize ?? width, width)
        let top = cropHeight < height ? Int(generator.next() % UInt64(height - cropHeight + 1)) : 0
        let left = cropWidth < width ? Int(generator.next() % UInt64(width - cropWidth + 1)) : 0
        var symmetry = SquareSymmetry(flip: false, turns: 0)
        if flipsAndRotations {
            let flip = generator.next() & 1 == 1
            let turns = cropHeight == cropWidth ? Int(generator.next() % 4) : 2 * Int(generator.next() % 2)
            // Turned, then flipped: the same as flipped, then turned the other way.
            symmetry = SquareSymmetry(flip: flip, turns: flip ? (4 - turns) % 4 : turns)
        }
        var result: (image: Tensor, labels: [Int32])
        if warps {
            let warped = warp(sample, top: top, left: left, height: cropHeight, width: cropWidth, using: &generator)
            result = Self.orient(warped, top: 0, left: 0, cropHeight: cropHeight, cropWidth: cropWidth, symmetry: symmetry)
        } else {
            result = Self.orient(sample, top: top, left: left, cropHeight: cropHeight, cropWidth: cropWidth, symmetry: symmetry)
        }
        if intensity { Self.jitterIntensity(&result.image, using: &generator) }
        return result
    }

    /// The crop at (`top`, `left`), transformed by `symmetry`.
    private static func orient(
        _ sample: SegmentationSample, top: Int, left: Int, cropHeight: Int, cropWidth: Int, symmetry: SquareSymmetry
    ) -> (image: Tensor, labels: [Int32]) {
        let (channels, height, width) = (sample.channels, sample.height, sample.width)
        let (outHeight, outWidth) = symmetry.outputSize(height: cropHeight, width: cropWidth)
        var image = Tensor.zeros([channels, outHeight, outWidth])
        var labels = [Int32](repeating: 0, count: outHeight * outWidth)
        sample.image.withUnsafeBufferPointer { input in
            image.withUnsafeMutableBufferPointer { output in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sy, sx) = symmetry.source(y, x, height: cropHeight, width: cropWidth)
                        let sourcePixel = (top + sy) * width + left + sx
                        labels[y * outWidth + x] = sample.labels[sourcePixel]
                        for channel in 0..<channels {
                            output[(channel * outHeight + y) * outWidth + x] = input[channel * height * width + sourcePixel]
                        }
                    }
                }
            }
        }
        return (image, labels)
    }

    /// The crop of `height`×`width` centred where the plain crop at (`top`, `left`) would be,
    /// read through a random rotation, zoom and elastic displacement.
    private func warp(
        _ sample: SegmentationSample, top: Int, left: Int, height: Int, width: Int, using generator: inout RandomGenerator
    ) -> SegmentationSample {
        let angle = rotation ? 2 * Float.pi * generator.nextUnitFloat() : 0
        let zoom = scaling.map { exp(log($0.lowerBound) + (log($0.upperBound) - log($0.lowerBound)) * generator.nextUnitFloat()) } ?? 1
        let displacement = elastic.map { ElasticField(height: height, width: width, deformation: $0, using: &generator) }
        let (cosine, sine) = (cos(angle) / zoom, sin(angle) / zoom)
        let (centreY, centreX) = (Float(top) + Float(height - 1) / 2, Float(left) + Float(width - 1) / 2)
        let (channels, sourceHeight, sourceWidth) = (sample.channels, sample.height, sample.width)
        let plane = height * width, sourcePlane = sourceHeight * sourceWidth
        var image = Tensor.zeros([channels, height, width])
        var labels = [Int32](repeating: 0, count: plane)
        sample.image.withUnsafeBufferPointer { input in
            image.withUnsafeMutableBufferPointer { output in
                for y in 0..<height {
                    let u = Float(y) - Float(height - 1) / 2
                    for x in 0..<width {
                        let v = Float(x) - Float(width - 1) / 2
                        var sy = centreY + cosine * u - sine * v, sx = centreX + sine * u + cosine * v
                        if let displacement {
                            sy += displacement.dy[y * width + x]
                            sx += displacement.dx[y * width + x]
                        }
                        sy = Self.mirrored(sy, size: sourceHeight)
                        sx = Self.mirrored(sx, size: sourceWidth)
                        let nearest = Int(sy.rounded()) * sourceWidth + Int(sx.rounded())
                        labels[y * width + x] = sample.labels[nearest]
                        let (y0, x0) = (min(Int(sy), sourceHeight - 1), min(Int(sx), sourceWidth - 1))
                        let (y1, x1) = (min(y0 + 1, sourceHeight - 1), min(x0 + 1, sourceWidth - 1))
                        let (fy, fx) = (sy - Float(y0), sx - Float(x0))
                        for channel in 0..<channels {
                            let base = channel * sourcePlane
                            let topRow = input[base + y0 * sourceWidth + x0] * (1 - fx) + input[base + y0 * sourceWidth + x1] * fx
                            let bottomRow = input[base + y1 * sourceWidth + x0] * (1 - fx) + input[base + y1 * sourceWidth + x1] * fx
                            output[channel * plane + y * width + x] = topRow * (1 - fy) + bottomRow * fy
                        }
                    }
                }
            }
        }
        return SegmentationSample(name: sample.name, image: image, labels: labels)
    }

    /// `t` reflected into `[0, size − 1]` about the border pixels' centres (…, 2, 1, 0, 1, 2, …).
    public static func mirrored(_ t: Float, size: Int) -> Float {
        guard size > 1 else { return 0 }
        let period = Float(2 * (size - 1))
        var r = abs(t).truncatingRemainder(dividingBy: period)
        if r > Float(size - 1) { r = period - r }
        return min(max(r, 0), Float(size - 1))
    }

    /// Brightness (×0.85–1.15), contrast (×0.75–1.25 about the mean) and gamma (0.7–1.5 over
    /// the image's range), each with probability ½.
    private static func jitterIntensity(_ image: inout Tensor, using generator: inout RandomGenerator) {
        func uniform(_ range: ClosedRange<Float>) -> Float { range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUnitFloat() }
        let brightness: Float = generator.next() & 1 == 1 ? uniform(0.85...1.15) : 1
        let contrast: Float = generator.next() & 1 == 1 ? uniform(0.75...1.25) : 1
        let gamma: Float = generator.next() & 1 == 1 ? uniform(0.7...1.5) : 1
        image.withUnsafeMutableBufferPointer { pixels in
            guard !pixels.isEmpty else { return }
            let mean = pixels.reduce(0, +) / Float(pixels.count)
            for index in pixels.indices { pixels[index] = (pixels[index] * brightness - mean * brightness) * contrast + mean * brightness }
            guard gamma != 1, let low = pixels.min(), let high = pixels.max(), high > low else { return }
            for index in pixels.indices { pixels[index] = low + (high - low) * pow((pixels[index] - low) / (high - low), gamma) }
        }
    }
}

/// A dense displacement field: normal displacements on a coarse lattice, interpolated to
/// every pixel with Catmull–Rom cubics (bicubic interpolation).
struct ElasticField {
    let dy: [Float], dx: [Float]

    init(height: Int, width: Int, deformation: Augmentation.ElasticDeformation, using generator: inout RandomGenerator) {
        let grid = deformation.grid
        let lattice = (0..<2 * grid * grid).map { _ in deformation.sigma * generator.nextStandardNormal() }
        func dense(_ offset: Int) -> [Float] {
            let rows = Self.weights(count: height, grid: grid), columns = Self.weights(count: width, grid: grid)
            // Along x on every lattice row, then along y.
            var alongX = [Float](repeating: 0, count: grid * width)
            for row in 0..<grid {
                for x in 0..<width {
                    alongX[row * width + x] = columns[x].reduce(0) { $0 + $1.weight * lattice[offset + row * grid + $1.index] }
                }
            }
            var field = [Float](repeating: 0, count: height * width)
            for y in 0..<height {
                for x in 0..<width {
                    field[y * width + x] = rows[y].reduce(0) { $0 + $1.weight * alongX[$1.index * width + x] }
                }
            }
            return field
        }
        (dy, dx) = (dense(0), dense(grid * grid))
    }

    /// For each of `count` pixels, the lattice points and Catmull–Rom weights that
    /// interpolate it (the lattice spans the pixels end to end; indices clamped at the ends).
    private static func weights(count: Int, grid: Int) -> [[(index: Int, weight: Float)]] {
        (0..<count).map { pixel in
            let t = count > 1 ? Float(pixel) / Float(count - 1) * Float(grid - 1) : 0
            let base = min(Int(t), grid - 2), f = t - Float(base)
            let w: [Float] = [
                ((-0.5 * f + 1) * f - 0.5) * f, (1.5 * f - 2.5) * f * f + 1, ((-1.5 * f + 2) * f + 0.5) * f, (0.5 * f - 0.5) * f * f,
            ]
            return (0..<4).map { (min(max(base - 1 + $0, 0), grid - 1), w[$0]) }
        }
    }
}
