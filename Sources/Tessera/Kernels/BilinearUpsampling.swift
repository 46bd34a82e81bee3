/// Bilinear up-sampling of `[N, C, H, W]` by an integer factor with
/// `align_corners=True` (PyTorch's `interpolate(mode="bilinear", align_corners=True)`,
/// Pytorch-UNet's bilinear mode): corner pixels of input and output coincide.
public enum BilinearUpsampling {
    /// For each output coordinate: the two input coordinates it blends and the weight of
    /// the second.
    struct Taps {
        var lower: [Int] = [], upper: [Int] = [], weight: [Float] = []

        init(input: Int, output: Int) {
            let scale = output > 1 ? Float(input - 1) / Float(output - 1) : 0
            for position in 0..<output {
                let source = Float(position) * scale
                let base = min(Int(source), input - 1)
                lower.append(base)
                upper.append(min(base + 1, input - 1))
                weight.append(source - Float(base))
            }
        }
    }

    /// The input enlarged `factor` times in height and width.
    public static func forward(_ input: Tensor, factor: Int = 2) -> Tensor {
        require(input.rank == 4 && factor >= 1, "upsample_bilinear2d: expected [N, C, H, W] and factor ≥ 1, got \(input.shape), \(factor)")
        let height = input.shape[2], width = input.shape[3]
        let outHeight = height * factor, outWidth = width * factor
        let rows = Taps(input: height, output: outHeight), columns = Taps(input: width, output: outWidth)
        let output = Tensor(uninitializedShape: [input.shape[0], input.shape[1], outHeight, outWidth])
        nonisolated(unsafe) let source = input.storage.pointer, target = output.storage.pointer
        Parallel.forEach(input.shape[0] * input.shape[1]) { plane in
            let x = source + plane * height * width, y = target + plane * outHeight * outWidth
            for oy in 0..<outHeight {
                let top = x + rows.lower[oy] * width, bottom = x + rows.upper[oy] * width
                let wy = rows.weight[oy]
                for ox in 0..<outWidth {
                    let left = columns.lower[ox], right = columns.upper[ox], wx = columns.weight[ox]
                    let upperValue = top[left] + (top[right] - top[left]) * wx
                    let lowerValue = bottom[left] + (bottom[right] - bottom[left]) * wx
                    y[oy * outWidth + ox] = upperValue + (lowerValue - upperValue) * wy
                }
            }
        }
        return output
    }

    /// The gradient with respect to the input: each output gradient is shared among the
    /// four input pixels it blended, with the same weights.
    public static func backward(gradientOfOutput gradient: Tensor, inputShape: [Int], factor: Int = 2) -> Tensor {
        require(
            inputShape.count == 4 && gradient.shape == [inputShape[0], inputShape[1], inputShape[2] * factor, inputShape[3] * factor],
            "upsample_bilinear2d backward: gradient \(gradient.shape) does not match input \(inputShape) × \(factor)")
        let height = inputShape[2], width = inputShape[3]
        let outHeight = height * factor, outWidth = width * factor
        let rows = Taps(input: height, output: outHeight), columns = Taps(input: width, output: outWidth)
        let result = Tensor(shape: inputShape, repeating: 0)
        nonisolated(unsafe) let source = gradient.storage.pointer, target = result.storage.pointer
        Parallel.forEach(inputShape[0] * inputShape[1]) { plane in
            let dy = source + plane * outHeight * outWidth, dx = target + plane * height * width
            for oy in 0..<outHeight {
                let top = dx + rows.lower[oy] * width, bottom = dx + rows.upper[oy] * width
                let wy = rows.weight[oy]
                for ox in 0..<outWidth {
                    let left = columns.lower[ox], right = columns.upper[ox], wx = columns.weight[ox]
                    let g = dy[oy * outWidth + ox]
                    top[left] += g * (1 - wy) * (1 - wx)
                    top[right] += g * (1 - wy) * wx
                    bottom[left] += g * wy * (1 - wx)
                    bottom[right] += g * wy * wx
                }
            }
        }
        return result
    }
}
