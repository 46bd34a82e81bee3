import Tessera

/// Plain-loop reference implementations that the optimised code is checked against.
enum Naive {
    /// `C = op(A) · op(B)` for matrices stored row-major with explicit leading dimensions.
    static func matmul(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: [Float], lda: Int, b: [Float], ldb: Int
    ) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total: Double = 0
                for p in 0..<k {
                    let aValue = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bValue = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    total += Double(aValue) * Double(bValue)
                }
                c[i * n + j] = Float(total)
            }
        }
        return c
    }
}

extension Naive {
    /// Direct convolution with plain loops: `y[n, o, i, j] = b[o] + Σ_{c, p, q}
    /// W[o, c, p, q] · x[n, c, i·s − pad + p·d, j·s − pad + q·d]` (zero outside the image).
    static func conv2d(
        input: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, dilation: Int
    ) -> Tensor {
        let (batch, channels, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (outputs, kernelHeight, kernelWidth) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let outHeight = (height + 2 * padding - dilation * (kernelHeight - 1) - 1) / stride + 1
        let outWidth = (width + 2 * padding - dilation * (kernelWidth - 1) - 1) / stride + 1
        var output = Tensor.zeros([batch, outputs, outHeight, outWidth])
        for n in 0..<batch {
            for o in 0..<outputs {
                for i in 0..<outHeight {
                    for j in 0..<outWidth {
                        var total = Double(bias?[o] ?? 0)
                        for c in 0..<channels {
                            for p in 0..<kernelHeight {
                                for q in 0..<kernelWidth {
                                    let y = i * stride - padding + p * dilation, x = j * stride - padding + q * dilation
                                    guard y >= 0 && y < height && x >= 0 && x < width else { continue }
                                    total += Double(weight[o, c, p, q]) * Double(input[n, c, y, x])
                                }
                            }
                        }
                        output[n, o, i, j] = Float(total)
                    }
                }
            }
        }
        return output
    }
}
