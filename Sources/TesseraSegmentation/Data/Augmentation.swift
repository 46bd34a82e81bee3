import Tessera

/// Random crops, flips and 90° rotations applied identically to an image and its mask.
public struct Augmentation: Sendable {
    /// The side of the square crop; nil keeps whole images.
    public let cropSize: Int?
    /// Whether to flip and rotate at random.
    public let flipsAndRotations: Bool

    public init(cropSize: Int?, flipsAndRotations: Bool) {
        self.cropSize = cropSize
        self.flipsAndRotations = flipsAndRotations
    }

    /// No augmentation: whole images, unchanged.
    public static let none = Augmentation(cropSize: nil, flipsAndRotations: false)

    /// A transformed copy of `sample`, drawing its choices from `generator`.
    public func apply(to sample: SegmentationSample, using generator: inout RandomGenerator) -> (image: Tensor, labels: [Int32]) {
        let (channels, height, width) = (sample.channels, sample.height, sample.width)
        let cropHeight = min(cropSize ?? height, height), cropWidth = min(cropSize ?? width, width)
        let top = cropHeight < height ? Int(generator.next() % UInt64(height - cropHeight + 1)) : 0
        let left = cropWidth < width ? Int(generator.next() % UInt64(width - cropWidth + 1)) : 0
        var flip = false, turns = 0
        if flipsAndRotations {
            flip = generator.next() & 1 == 1
            turns = cropHeight == cropWidth ? Int(generator.next() % 4) : 2 * Int(generator.next() % 2)
        }
        // Output (y, x) reads source (sy, sx) of the crop after `turns` quarter turns and a flip.
        let outHeight = turns % 2 == 0 ? cropHeight : cropWidth, outWidth = turns % 2 == 0 ? cropWidth : cropHeight
        func source(_ y: Int, _ x: Int) -> (Int, Int) {
            let fx = flip ? outWidth - 1 - x : x
            switch turns {
            case 1: return (fx, cropWidth - 1 - y)
            case 2: return (cropHeight - 1 - y, cropWidth - 1 - fx)
            case 3: return (cropHeight - 1 - fx, y)
            default: return (y, fx)
            }
        }
        var image = Tensor.zeros([channels, outHeight, outWidth])
        var labels = [Int32](repeating: 0, count: outHeight * outWidth)
        sample.image.withUnsafeBufferPointer { input in
            image.withUnsafeMutableBufferPointer { output in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sy, sx) = source(y, x)
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
}
