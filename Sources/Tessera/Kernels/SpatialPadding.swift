/// Zero padding of the last two dimensions of `[N, C, H, W]` (PyTorch's
/// `F.pad(x, [left, right, top, bottom])` with non-negative amounts), and its backward
/// pass, which crops the gradient back.
public enum SpatialPadding {
    /// Amounts of zeros added on each side.
    public struct Amounts: Equatable, Sendable {
        public var top: Int, bottom: Int, left: Int, right: Int

        public init(top: Int, bottom: Int, left: Int, right: Int) {
            require(
                top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
                "pad: amounts must be non-negative, got top \(top) bottom \(bottom) left \(left) right \(right)")
            (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
        }

        /// The padding that centres an image of `size` inside `target`, putting the odd
        /// pixel at the bottom/right (as Pytorch-UNet pads its up-sampled tensors).
        public init(centering size: Size2D, in target: Size2D) {
            let dy = target.height - size.height, dx = target.width - size.width
            self.init(top: dy / 2, bottom: dy - dy / 2, left: dx / 2, right: dx - dx / 2)
        }

        public var isZero: Bool { top == 0 && bottom == 0 && left == 0 && right == 0 }
    }

    /// The input surrounded by zeros.
    public static func pad(_ input: Tensor, _ amounts: Amounts) -> Tensor {
        require(input.rank == 4, "pad: expected [N, C, H, W], got \(input.shape)")
        let height = input.shape[2], width = input.shape[3]
        let paddedHeight = height + amounts.top + amounts.bottom, paddedWidth = width + amounts.left + amounts.right
        let output = Tensor(shape: [input.shape[0], input.shape[1], paddedHeight, paddedWidth], repeating: 0)
        nonisolated(unsafe) let source = input.storage.pointer, target = output.storage.pointer
        Parallel.forEach(input.shape[0] * input.shape[1]) { plane in
            for row in 0..<height {
                (target + (plane * paddedHeight + row + amounts.top) * paddedWidth + amounts.left)
                    .update(from: source + (plane * height + row) * width, count: width)
            }
        }
        return output
    }

    /// The gradient of ``pad(_:_:)``: the interior of the padded gradient.
    public static func unpad(_ gradient: Tensor, _ amounts: Amounts) -> Tensor {
        require(
            gradient.rank == 4 && gradient.shape[2] > amounts.top + amounts.bottom && gradient.shape[3] > amounts.left + amounts.right,
            "pad backward: gradient \(gradient.shape) is too small for \(amounts)")
        let paddedHeight = gradient.shape[2], paddedWidth = gradient.shape[3]
        let height = paddedHeight - amounts.top - amounts.bottom, width = paddedWidth - amounts.left - amounts.right
        let output = Tensor(uninitializedShape: [gradient.shape[0], gradient.shape[1], height, width])
        nonisolated(unsafe) let source = gradient.storage.pointer, target = output.storage.pointer
        Parallel.forEach(gradient.shape[0] * gradient.shape[1]) { plane in
            for row in 0..<height {
                (target + (plane * height + row) * width)
                    .update(from: source + (plane * paddedHeight + row + amounts.top) * paddedWidth + amounts.left, count: width)
            }
        }
        return output
    }
}
