/// A fully connected (dense) layer on GEMM, PyTorch's `linear`: input `x` `[N, in]`,
/// weight `W` `[out, in]`, bias `[out]`, output `y = x · Wᵀ + b` `[N, out]`.
public enum FullyConnected {
    public static func forward(input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        require(
            input.rank == 2 && weight.rank == 2 && input.shape[1] == weight.shape[1],
            "linear: input \(input.shape) needs [N, in] and weight \(weight.shape) [out, in] with equal in")
        let batch = input.shape[0], inputs = input.shape[1], outputs = weight.shape[0]
        let output = Tensor(uninitializedShape: [batch, outputs])
        if let bias {
            require(bias.shape == [outputs], "linear: bias \(bias.shape) must be [\(outputs)]")
            for row in 0..<batch { (output.storage.pointer + row * outputs).update(from: bias.storage.pointer, count: outputs) }
        }
        // y[N, out] = x[N, in] · W[out, in]ᵀ (+ y holding the bias): M = N, N = out, K = in, B transposed.
        BLAS.gemm(
            transposeB: true, m: batch, n: outputs, k: inputs,
            a: input.storage.pointer, lda: inputs, b: weight.storage.pointer, ldb: inputs,
            beta: bias == nil ? 0 : 1, c: output.storage.pointer, ldc: outputs)
        return output
    }

    /// `dx = dy · W`: M = N, N = in, K = out.
    public static func backwardData(gradientOfOutput gradient: Tensor, weight: Tensor) -> Tensor {
        Tensor.product(gradient, weight)
    }

    /// `dW = dyᵀ · x`: M = out, N = in, K = N, A transposed.
    public static func backwardWeight(gradientOfOutput gradient: Tensor, input: Tensor) -> Tensor {
        Tensor.product(gradient, input, transposeLeft: true)
    }

    /// `db = Σ_rows dy`.
    public static func backwardBias(gradientOfOutput gradient: Tensor) -> Tensor {
        gradient.sum(alongAxis: 0)
    }
}
