import Tessera

/// Runs a trained U-Net on images of any size, in overlapping tiles so that memory stays
/// bounded however large the image.
///
/// Tiles are `tileSize`² (a multiple of `2^depth`, placed on that grid so that pooling
/// windows line up with the whole image's). Where tiles overlap, their logits are blended
/// with weights that are 0 in the outer quarter of the overlap next to a tile's inner edge,
/// rise linearly across the middle half and are 1 beyond: a pixel closer than a quarter of
/// the overlap to a tile's edge — where that tile's zero padding distorts it — takes its
/// value from the neighbouring tile alone. With an overlap of at least twice the receptive
/// field's radius, tiled logits equal whole-image logits.
public struct Predictor {
    public let model: UNet
    public let tileSize: Int
    public let overlap: Int

    /// - Precondition: `tileSize` is a positive multiple of `2^depth` and
    ///   `0 ≤ overlap < tileSize` with `overlap` a multiple of `2^depth`.
    public init(model: UNet, tileSize: Int = 512, overlap: Int = 128) {
        let multiple = model.configuration.sizeMultiple
        require(tileSize >= multiple && tileSize % multiple == 0, "Predictor: tile size \(tileSize) must be a multiple of \(multiple)")
        require(overlap >= 0 && overlap < tileSize && overlap % multiple == 0,
                     "Predictor: overlap \(overlap) must be a multiple of \(multiple) below the tile size \(tileSize)")
        model.eval()
        self.model = model
        self.tileSize = tileSize
        self.overlap = overlap
    }

    /// Logits `[classes, H, W]` for an image `[C, H, W]`.
    public func logits(for image: Tensor) -> Tensor {
        require(image.rank == 3 && image.shape[0] == model.configuration.inputChannels,
                     "Predictor: image \(image.shape) needs [\(model.configuration.inputChannels), H, W]")
        let (height, width) = (image.shape[1], image.shape[2])
        if height <= tileSize && width <= tileSize {
            return model.logits(image.reshaped([1] + image.shape)).reshaped([model.configuration.classes, height, width])
        }
        let classes = model.configuration.classes
        let rows = Self.tileStarts(length: height, tile: tileSize, overlap: overlap)
        let columns = Self.tileStarts(length: width, tile: tileSize, overlap: overlap)
        var sum = Tensor.zeros([classes, height, width])
        var weights = [Float](repeating: 0, count: height * width)
        for top in rows {
            for left in columns {
                let tileHeight = min(tileSize, height - top), tileWidth = min(tileSize, width - left)
                let tile = Self.window(image, top: top, left: left, height: tileHeight, width: tileWidth)
                let tileLogits = model.logits(tile.reshaped([1] + tile.shape)).scalars
                let rowWeights = Self.ramp(length: tileHeight, start: top, total: height, overlap: overlap)
                let columnWeights = Self.ramp(length: tileWidth, start: left, total: width, overlap: overlap)
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
        let (channels, imageHeight, imageWidth) = (image.shape[0], image.shape[1], image.shape[2])
        var result = Tensor.zeros([channels, height, width])
        image.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { target in
                for c in 0..<channels {
                    for y in 0..<height {
                        for x in 0..<width {
                            target[(c * height + y) * width + x] = source[(c * imageHeight + top + y) * imageWidth + left + x]
                        }
                    }
                }
            }
        }
        return result
    }
}
