/// 2-D max pooling over `[N, C, H, W]` (no padding, floor mode, as PyTorch's defaults).
///
/// The forward pass records, for every output element, the flat position of the maximum
/// inside its input plane (the first one on ties); the backward pass routes each output
/// gradient to that position.
public enum MaxPooling2D {
    /// The pooled tensor and the arg-max positions.
    public struct Result: Sendable {
        public let output: Tensor
        /// For each output element, the index of its maximum within the `H·W` input plane.
        public let argmax: [Int32]
    }

    /// The output size of pooling `inputSize` with `kernelSize` and `stride`.
    public static func outputSize(inputSize: Size2D, kernelSize: Size2D, stride: Size2D) -> Size2D {
        Size2D(
            (inputSize.height - kernelSize.height) / stride.height + 1,
            (inputSize.width - kernelSize.width) / stride.width + 1)
    }

    /// Max pooling with `kernelSize` and `stride` (the stride defaults to the kernel size).
    public static func forward(input: Tensor, kernelSize: Size2D = 2, stride: Size2D? = nil) -> Result {
        let stride = stride ?? kernelSize
        let shape = checkedOutputShape(input: input, kernelSize: kernelSize, stride: stride)
        var argmax = [Int32](repeating: 0, count: shape.reduce(1, *))
        let output = argmax.withUnsafeMutableBufferPointer {
            pool(input, kernelSize: kernelSize, stride: stride, outputShape: shape, positions: $0.baseAddress!)
        }
        return Result(output: output, argmax: argmax)
    }

    /// The pooled tensor alone, for when no gradient will flow back (inference): the same
    /// values as ``forward(input:kernelSize:stride:)`` without recording the arg-max.
    public static func maxima(input: Tensor, kernelSize: Size2D = 2, stride: Size2D? = nil) -> Tensor {
        let stride = stride ?? kernelSize
        let shape = checkedOutputShape(input: input, kernelSize: kernelSize, stride: stride)
        return pool(input, kernelSize: kernelSize, stride: stride, outputShape: shape, positions: nil)
    }

    /// The output shape `[N, C, Ho, Wo]`, after checking that the kernel fits the input.
    private static func checkedOutputShape(input: Tensor, kernelSize: Size2D, stride: Size2D) -> [Int] {
        let problem = mismatch(input: input.shape, kernelSize: kernelSize, stride: stride)
        require(problem == nil, problem ?? "")
        let out = outputSize(inputSize: Size2D(input.shape[2], input.shape[3]), kernelSize: kernelSize, stride: stride)
        return [input.shape[0], input.shape[1], out.height, out.width]
    }

    /// What is wrong with pooling an input of shape `input` by `kernelSize` windows at
    /// `stride`, or nil when the windows fit.
    package static func mismatch(input: [Int], kernelSize: Size2D, stride: Size2D) -> String? {
        guard input.count == 4 else { return "max_pool2d: expected [N, C, H, W], got \(input)" }
        let fits = kernelSize.height > 0 && kernelSize.width > 0 && stride.height > 0 && stride.width > 0
            && input[2] >= kernelSize.height && input[3] >= kernelSize.width
        return fits ? nil : "max_pool2d: kernel \(kernelSize) with stride \(stride) does not fit input \(input)"
    }

    /// Pools every plane in parallel, writing each maximum's flat position in its input
    /// plane to `positions` when given. Windows are read in row-major order and the first
    /// maximum wins; a NaN wins over any number, the last NaN row's first NaN over earlier
    /// ones.
    private static func pool(
        _ input: Tensor, kernelSize: Size2D, stride: Size2D, outputShape: [Int], positions: UnsafeMutablePointer<Int32>?
    ) -> Tensor {
        let inputWidth = input.shape[3], inputPlane = input.shape[2] * inputWidth
        let planes = outputShape[0] * outputShape[1]
        let out = Size2D(outputShape[2], outputShape[3]), outputPlane = out.height * out.width
        let output = Tensor(uninitializedShape: outputShape)
        nonisolated(unsafe) let source = input.storage.pointer, target = output.storage.pointer, positions = positions
        let halving = kernelSize == 2 && stride == 2 && positions == nil
        Parallel.forEach(planes) { plane in
            let x = source + plane * inputPlane, y = target + plane * outputPlane
            let indices = positions.map { $0 + plane * outputPlane }
            for oy in 0..<out.height {
                let firstRow = x + oy * stride.height * inputWidth, outputRow = y + oy * out.width
                let vectorised = halving ? maximaOfSquares(below: firstRow, inputWidth: inputWidth, count: out.width, into: outputRow) : 0
                for ox in vectorised..<out.width {
                    var best = -Float.infinity, bestIndex = ox * stride.width
                    for ky in 0..<kernelSize.height {
                        let row = ox * stride.width + ky * inputWidth
                        for kx in 0..<kernelSize.width where firstRow[row + kx] > best || firstRow[row + kx].isNaN {
                            best = firstRow[row + kx]
                            bestIndex = row + kx
                            if best.isNaN { break }
                        }
                    }
                    outputRow[ox] = best
                    indices?[oy * out.width + ox] = Int32(oy * stride.height * inputWidth + bestIndex)
                }
            }
        }
        return output
    }

    /// The maxima of the 2×2 windows (stride 2) whose top rows start at `firstRow`, eight
    /// at a time, each taken in the scalar loop's order so that ties and signed zeros come
    /// out the same; stops at the first group holding a NaN (the scalar loop picks which
    /// NaN wins). Returns how many of the `count` maxima it wrote.
    @inline(__always)
    private static func maximaOfSquares(
        below firstRow: UnsafePointer<Float>, inputWidth: Int, count: Int, into output: UnsafeMutablePointer<Float>
    ) -> Int {
        var written = 0
        while written + 8 <= count {
            let upper = LaneAccess.load(firstRow + 2 * written), lower = LaneAccess.load(firstRow + inputWidth + 2 * written)
            guard all(upper .== upper) && all(lower .== lower) else { break }
            var best = upper.evenHalf
            best.replace(with: upper.oddHalf, where: upper.oddHalf .> best)
            best.replace(with: lower.evenHalf, where: lower.evenHalf .> best)
            best.replace(with: lower.oddHalf, where: lower.oddHalf .> best)
            UnsafeMutableRawPointer(output + written).storeBytes(of: best, as: SIMD8<Float>.self)
            written += 8
        }
        return written
    }

    /// Routes each output gradient to the input position that was the maximum.
    public static func backward(gradientOfOutput gradient: Tensor, argmax: [Int32], inputShape: [Int]) -> Tensor {
        require(
            gradient.count == argmax.count && inputShape.count == 4 && gradient.rank == 4
                && Array(gradient.shape.prefix(2)) == Array(inputShape.prefix(2)),
            "max_pool2d backward: gradient \(gradient.shape) does not match \(argmax.count) arg-max positions for input \(inputShape)")
        let planes = inputShape[0] * inputShape[1]
        let inputPlane = inputShape[2] * inputShape[3], outputPlane = gradient.shape[2] * gradient.shape[3]
        let result = Tensor(shape: inputShape, repeating: 0)
        argmax.withUnsafeBufferPointer { argmaxBuffer in
            nonisolated(unsafe) let source = gradient.storage.pointer, target = result.storage.pointer
            nonisolated(unsafe) let positions = argmaxBuffer.baseAddress!
            Parallel.forEach(planes) { plane in
                let dx = target + plane * inputPlane
                for index in 0..<outputPlane {
                    dx[Int(positions[plane * outputPlane + index])] += source[plane * outputPlane + index]
                }
            }
        }
        return result
    }
}
