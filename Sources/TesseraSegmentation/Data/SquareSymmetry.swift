import Tessera

/// One of the 8 symmetries of the square: a left–right flip (or none), then 0–3 quarter
/// turns counter-clockwise. Training crops are shown in a random one; test-time
/// augmentation predicts in all 8 and turns each prediction back with the ``inverse``.
public struct SquareSymmetry: Hashable, Sendable, CaseIterable {
    public let flip: Bool
    /// Quarter turns counter-clockwise, 0–3, after the flip.
    public let turns: Int

    public init(flip: Bool, turns: Int) {
        require((0..<4).contains(turns), "SquareSymmetry: turns must be 0…3, got \(turns)")
        (self.flip, self.turns) = (flip, turns)
    }

    /// The identity first, then the other turns, then the four with a flip.
    public static let allCases = [false, true].flatMap { flip in (0..<4).map { SquareSymmetry(flip: flip, turns: $0) } }

    /// The symmetry that undoes this one: a flip followed by turns is a reflection, its own
    /// inverse; turns alone are undone by the opposite turns.
    public var inverse: SquareSymmetry {
        flip ? self : SquareSymmetry(flip: false, turns: (4 - turns) % 4)
    }

    /// Height and width of the result for a source of `height`×`width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        turns % 2 == 0 ? (height, width) : (width, height)
    }

    /// The pixel (row, column) of a `height`×`width` source that the result shows at (`y`, `x`).
    @inline(__always)
    public func source(_ y: Int, _ x: Int, height: Int, width: Int) -> (Int, Int) {
        switch turns {
        case 1: return (x, flip ? y : width - 1 - y)
        case 2: return (height - 1 - y, flip ? x : width - 1 - x)
        case 3: return (height - 1 - x, flip ? width - 1 - y : y)
        default: return (y, flip ? width - 1 - x : x)
        }
    }

    /// An image `[C, H, W]` transformed.
    public func apply(to image: Tensor) -> Tensor {
        require(image.rank == 3, "SquareSymmetry: needs an image [C, H, W], got \(image.shape)")
        let (channels, height, width) = (image.shape[0], image.shape[1], image.shape[2])
        let (outHeight, outWidth) = outputSize(height: height, width: width)
        var result = Tensor.zeros([channels, outHeight, outWidth])
        image.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sy, sx) = source(y, x, height: height, width: width)
                        for c in 0..<channels {
                            output[(c * outHeight + y) * outWidth + x] = input[(c * height + sy) * width + sx]
                        }
                    }
                }
            }
        }
        return result
    }
}
