import Foundation
import Tessera

/// Runs a trained U-Net on images of any size, in overlapping tiles so that memory stays
/// bounded however large the image; optionally as nnU-Net does (Gaussian-weighted sliding
/// windows, test-time augmentation).
///
/// Tiles are `tileSize`² (a multiple of `2^depth`, placed on that grid so that pooling
/// windows line up with the whole image's). With ``Blending/ramp`` (the default), where
/// tiles overlap their logits are blended with weights that are 0 in the outer quarter of
/// the overlap next to a tile's inner edge, rise linearly across the middle half and are 1
/// beyond: a pixel closer than a quarter of the overlap to a tile's edge — where that
/// tile's zero padding distorts it — takes its value from the neighbouring tile alone.
/// With an overlap of at least twice the receptive field's radius, tiled logits equal
/// whole-image logits. With ``Blending/gaussian`` every window is full-sized and weighted by
/// a Gaussian of standard deviation `tileSize / 8` about its centre, nnU-Net's importance
/// weighting: centre pixels are trusted more than edges.
public struct Predictor {
    /// How overlapping tiles are combined.
    public enum Blending: String, Sendable, CaseIterable {
        case ramp, gaussian
    }

    public let model: UNet
    public let tileSize: Int
    public let overlap: Int
    public let blending: Blending
    /// Whether to average the predictions of the 8 flips and quarter turns of each image
    /// (in probability, as nnU-Net's mirroring), each turned back first.
    public let testTimeAugmentation: Bool

    /// - Precondition: `tileSize` is a positive multiple of `2^depth` and
    ///   `0 ≤ overlap < tileSize` with `overlap` a multiple of `2^depth`.
    public init(model: UNet, tileSize: Int = 512, overlap: Int = 128, blending: Blending = .ramp, testTimeAugmentation: Bool = false) {
        let multiple = model.configuration.sizeMultiple
        require(tileSize >= multiple && tileSize % multiple == 0, "Predictor: tile size \(tileSize) must be a multiple of \(multiple)")
        require(overlap >= 0 && overlap < tileSize && overlap % multiple == 0,
                     "Predictor: overlap \(overlap) must be a multiple of \(multiple) below the tile size \(tileSize)")
        model.eval()
        self.model = model
        self.tileSize = tileSize
        self.overlap = overlap
        self.blending = blending
        self.testTimeAugmentation = testTimeAugmentation
    }

    /// Logits `[classes, H, W]` for an image `[C, H, W]`.
    public func logits(for image: Tensor) -> Tensor {
        require(image.rank == 3 && image.shape[0] == model.configuration.inputChannels,
                     "Predictor: image \(image.shape) needs [\(model.configuration.inputChannels), H, W]")
        guard testTimeAugmentation else { return tiledLogits(for: image) }
        let classes = model.configuration.classes
        var total = Tensor.zeros([classes, image.shape[1], image.shape[2]])
        for symmetry in SquareSymmetry.allCases {
            let logits = symmetry.inverse.apply(to: tiledLogits(for: symmetry.apply(to: image)))
            total = total + (classes == 1 ? sigmoid(logits) : softmax(logits, alongAxis: 0))
        }
        // Back to logits of the mean probability: log-odds for one class, log for several.
        let mean = total.map { min(max($0 / 8, 1e-7), 1 - 1e-7) }
        return classes == 1 ? mean.map { Foundation.log($0 / (1 - $0)) } : mean.map { Foundation.log($0) }
    }

    /// The logits of one orientation, tile by tile.
    private func tiledLogits(for image: Tensor) -> Tensor {
        let (height, width) = (image.shape[1], image.shape[2])
        if height <= tileSize && width <= tileSize {
            return model.logits(image.reshaped([1] + image.shape)).reshaped([model.configuration.classes, height, width])
        }
        let classes = model.configuration.classes
        let rows = windows(length: height), columns = windows(length: width)
        var sum = Tensor.zeros([classes, height, width])
        var weights = [Float](repeating: 0, count: height * width)
        for (top, tileHeight) in rows {
            for (left, tileWidth) in columns {
                let tile = Self.window(image, top: top, left: left, height: tileHeight, width: tileWidth)
                let tileLogits = model.logits(tile.reshaped([1] + tile.shape)).scalars
                let rowWeights = axisWeights(length: tileHeight, start: top, total: height)
                let columnWeights = axisWeights(length: tileWidth, start: left, total: width)
                sum.withUnsafeMutableBufferPointer { target in
                    for y in 0..<tileHeight {
                        for x in 0..<tileWidth {
                            let weight = rowWeights[y] * columnWeights[x]
                            guard weight > 0 else { continue }
                            let pixel = (top + y) * width + left + x
                            weights[pixel] += weight
                            for c in 0..<classes {
                                target[c * height * width + pixel] += weight * tileLogits[(c * tileHeight + y) * tileWidth + x]
                            }
                        }
                    }
                }
            }
        }
        sum.withUnsafeMutableBufferPointer { target in
            for c in 0..<classes {
                for pixel in 0..<(height * width) { target[c * height * width + pixel] /= weights[pixel] }
            }
        }
        return sum
    }

    /// The (start, length) of the tiles along one axis of `length` pixels.
    func windows(length: Int) -> [(start: Int, length: Int)] {
        switch blending {
        case .ramp:
            return Self.tileStarts(length: length, tile: tileSize, overlap: overlap).map { ($0, min(tileSize, length - $0)) }
        case .gaussian:
            return Self.fullWindows(length: length, tile: tileSize, step: tileSize - overlap, multiple: model.configuration.sizeMultiple)
        }
    }

    private func axisWeights(length: Int, start: Int, total: Int) -> [Float] {
        switch blending {
        case .ramp: Self.ramp(length: length, start: start, total: total, overlap: overlap)
        case .gaussian: Self.gaussian(length: length, standardDeviation: Float(tileSize) / 8)
        }
    }

    /// Windows of at least `tile` pixels every `step` (a multiple of `multiple`), the last
    /// one starting on that grid and reaching the end: none is cut short.
    public static func fullWindows(length: Int, tile: Int, step: Int, multiple: Int) -> [(start: Int, length: Int)] {
        guard length > tile else { return [(0, length)] }
        var starts = Array(stride(from: 0, through: length - tile, by: max(step, multiple)))
        let last = (length - tile) / multiple * multiple
        if starts.last! < last { starts.append(last) }
        return starts.enumerated().map { index, start in (start, index == starts.count - 1 ? length - start : tile) }
    }

    /// `exp(−d² / 2σ²)` of each position's distance `d` from the window's centre.
    public static func gaussian(length: Int, standardDeviation: Float) -> [Float] {
        let centre = Float(length - 1) / 2
        return (0..<length).map { position in
            let d = Float(position) - centre
            return max(Foundation.exp(-d * d / (2 * standardDeviation * standardDeviation)), 1e-6)
        }
    }

    /// Tile origins along one axis: every `tile − overlap` (so on the pooling grid) until a
    /// tile reaches the end; the last tile may be shorter.
    static func tileStarts(length: Int, tile: Int, overlap: Int) -> [Int] {
        var starts = [0]
        while starts.last! + tile < length { starts.append(starts.last! + tile - overlap) }
        return starts
    }

    /// Blending weight at each position of a tile along one axis: 1 inside, and towards an
    /// edge that is not the image's own, 0 for the outer quarter of the overlap with a
    /// linear ramp across the middle half.
    static func ramp(length: Int, start: Int, total: Int, overlap: Int) -> [Float] {
        let margin = Float(overlap) / 4, rise = max(Float(overlap) / 2, 1)
        return (0..<length).map { position in
            var weight: Float = 1
            if start > 0 { weight = min(weight, (Float(position) + 0.5 - margin) / rise) }
            if start + length < total { weight = min(weight, (Float(length - position) - 0.5 - margin) / rise) }
            return min(max(weight, 0), 1)
        }
    }

    /// The `[C, height, width]` window of an image at (top, left).
    static func window(_ image: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
        let (channels, sourceHeight, sourceWidth) = (image.shape[0], image.shape[1], image.shape[2])
        var result = Tensor.zeros([channels, height, width])
        image.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in
                for c in 0..<channels {
                    for y in 0..<height {
                        let from = (c * sourceHeight + top + y) * sourceWidth + left, to = (c * height + y) * width
                        output.baseAddress!.advanced(by: to).update(from: input.baseAddress!.advanced(by: from), count: width)
                    }
                }
            }
        }
        return result
    }
}
