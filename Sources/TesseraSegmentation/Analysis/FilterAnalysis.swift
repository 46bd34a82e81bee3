import Foundation
import Tessera

/// Measurements that separate a convolution's filters from a dense layer's nodes: weight
/// sharing shows as translation equivariance, locality as a finite receptive field, and
/// both still learn by the same gradient rule.
public enum FilterAnalysis {
    /// `x` moved `shift` pixels to the right, zeros entering on the left: `[N, C, H, W]`.
    public static func shiftedRight(_ x: Tensor, by shift: Int) -> Tensor {
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        var result = Tensor.zeros(x.shape)
        x.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { target in
                for plane in 0..<planes {
                    for y in 0..<height {
                        for column in shift..<width {
                            target[(plane * height + y) * width + column] = source[(plane * height + y) * width + column - shift]
                        }
                    }
                }
            }
        }
        return result
    }

    /// The largest `|layer(shift(x)) − shift(layer(x))|` over output positions at least
    /// `margin` pixels from every border (where zero filling cannot reach).
    public static func equivarianceError(of layer: (Tensor) -> Tensor, input x: Tensor, shift: Int, margin: Int) -> Float {
        let a = layer(shiftedRight(x, by: shift)), b = shiftedRight(layer(x), by: shift)
        let (planes, height, width) = (a.shape[0] * a.shape[1], a.shape[2], a.shape[3])
        var worst: Float = 0
        let (va, vb) = (a.scalars, b.scalars)
        for plane in 0..<planes {
            for y in margin..<(height - margin) {
                for column in (shift + margin)..<(width - margin) {
                    let index = (plane * height + y) * width + column
                    worst = max(worst, abs(va[index] - vb[index]))
                }
            }
        }
        return worst
    }

    /// For each encoder block of `model` (inc, down1, …), the measured width of the receptive
    /// field of the block's output pixel nearest the image centre: input columns are
    /// perturbed one at a time (by ±`magnitude`) and the extent of the columns that change
    /// that pixel is reported, in input pixels.
    public static func measuredReceptiveFields(of model: UNet, size: Int, magnitude: Float = 100, seed: UInt64 = 0) -> [(String, Int)] {
        model.eval()
        var generator = RandomGenerator(seed: seed)
        let x = Tensor.uniform([1, model.configuration.inputChannels, size, size], using: &generator)
        func encoderOutputs(_ input: Tensor) -> [Tensor] {
            var outputs = [model.inc(input)]
            for down in model.downs { outputs.append(down(outputs.last!)) }
            return outputs
        }
        let reference = encoderOutputs(x)
        let centres = reference.map { ($0.shape[2] / 2, $0.shape[3] / 2) }
        var influencing = [[Int]](repeating: [], count: reference.count)
        for column in 0..<size {
            for sign: Float in [1, -1] {
                var perturbed = x
                perturbed.withUnsafeMutableBufferPointer { buffer in
                    for channel in 0..<x.shape[1] {
                        for row in 0..<size { buffer[(channel * size + row) * size + column] += sign * magnitude }
                    }
                }
                for (level, output) in encoderOutputs(perturbed).enumerated() {
                    let (row, centre) = centres[level]
                    let (channels, height, width) = (output.shape[1], output.shape[2], output.shape[3])
                    let changed = (0..<channels).contains { channel in
                        let index = (channel * height + row) * width + centre
                        return output.element(at: index) != reference[level].element(at: index)
                    }
                    if changed && influencing[level].last != column { influencing[level].append(column) }
                }
            }
        }
        return zip(model.encoderBlocks.map(\.0), influencing).map { name, columns in
            (name, columns.isEmpty ? 0 : columns.max()! - columns.min()! + 1)
        }
    }

    /// The dense matrix `[Cout·H·W, Cin·H·W]` that computes a stride-1, zero-padded
    /// convolution of `[Cin, H, W]` images: every row holds the same 3×3 weights, moved —
    /// the convolution unrolled, with tied weights.
    public static func unrolled(weight: Tensor, height: Int, width: Int, padding: Int) -> Tensor {
        let (outputs, inputs, kernelHeight, kernelWidth) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        var matrix = Tensor.zeros([outputs * height * width, inputs * height * width])
        matrix.withUnsafeMutableBufferPointer { m in
            for o in 0..<outputs {
                for y in 0..<height {
                    for x in 0..<width {
                        let row = (o * height + y) * width + x
                        for c in 0..<inputs {
                            for i in 0..<kernelHeight {
                                for j in 0..<kernelWidth {
                                    let (sy, sx) = (y - padding + i, x - padding + j)
                                    guard sy >= 0 && sy < height && sx >= 0 && sx < width else { continue }
                                    m[row * inputs * height * width + (c * height + sy) * width + sx] = weight[o, c, i, j]
                                }
                            }
                        }
                    }
                }
            }
        }
        return matrix
    }

    /// Sums a dense gradient over the entries that share each convolution weight: the
    /// gradient of a tied weight is the sum over the positions that use it.
    public static func tiedGradient(ofUnrolled gradient: Tensor, weightShape: [Int], height: Int, width: Int, padding: Int) -> Tensor {
        let (outputs, inputs, kernelHeight, kernelWidth) = (weightShape[0], weightShape[1], weightShape[2], weightShape[3])
        var result = Tensor.zeros(weightShape)
        let g = gradient.scalars
        for o in 0..<outputs {
            for c in 0..<inputs {
                for i in 0..<kernelHeight {
                    for j in 0..<kernelWidth {
                        var total: Float = 0
                        for y in 0..<height {
                            for x in 0..<width {
                                let (sy, sx) = (y - padding + i, x - padding + j)
                                guard sy >= 0 && sy < height && sx >= 0 && sx < width else { continue }
                                total += g[((o * height + y) * width + x) * inputs * height * width + (c * height + sy) * width + sx]
                            }
                        }
                        result[o, c, i, j] = total
                    }
                }
            }
        }
        return result
    }

    /// One SGD step of a convolution and of its unrolled dense twin on the same input and
    /// loss `Σ probe ⊙ y`: returns (max |conv output − dense output|, max |conv weight
    /// update − tied dense update|, max |untied dense update − tied dense update|).
    public static func convolutionVersusDenseStep(
        inputChannels: Int = 1, outputChannels: Int = 2, side: Int = 6, learningRate: Float = 0.1, seed: UInt64 = 0
    ) -> (outputDifference: Float, tiedUpdateDifference: Float, untiedUpdateDifference: Float) {
        var generator = RandomGenerator(seed: seed)
        let weight = Tensor.normal([outputChannels, inputChannels, 3, 3], using: &generator)
        let x = Tensor.normal([1, inputChannels, side, side], using: &generator)
        let probe = Tensor.normal([1, outputChannels, side, side], using: &generator)
        let matrix = unrolled(weight: weight, height: side, width: side, padding: 1)
        // Convolution: y = conv(x, W); dense: y = M · vec(x).
        let (convOutput, convGradients) = valueAndGradient(at: [weight]) { w in
            (conv2d(x, weight: w[0], padding: 1) * probe).sum()
        }
        let (denseOutput, denseGradients) = valueAndGradient(at: [matrix]) { m in
            (m[0].matmul(x.reshaped([inputChannels * side * side, 1])).reshaped(probe.shape) * probe).sum()
        }
        let convStep = weight - convGradients[0] * learningRate
        let tied = weight - tiedGradient(ofUnrolled: denseGradients[0], weightShape: weight.shape, height: side, width: side, padding: 1) * learningRate
        let untied = matrix - denseGradients[0] * learningRate
        let untiedDifference = untied.maximumAbsoluteDifference(to: unrolled(weight: tied, height: side, width: side, padding: 1))
        return (abs(convOutput.scalar - denseOutput.scalar), convStep.maximumAbsoluteDifference(to: tied), untiedDifference)
    }
}

extension Tensor {
    /// The element at a flat row-major index.
    func element(at index: Int) -> Float {
        withUnsafeBufferPointer { $0[index] }
    }
}
