import Foundation

/// Softmax and log-softmax over the channel dimension (dimension 1) of `[N, C, …]`.
public enum ChannelSoftmax {
    /// `yᶜ = e^{xᶜ} / Σ_k e^{xᵏ}` at every position.
    public static func softmax(_ input: Tensor) -> Tensor {
        apply(input, logarithmic: false)
    }

    /// `yᶜ = xᶜ − log Σ_k e^{xᵏ}` at every position (computed stably).
    public static func logSoftmax(_ input: Tensor) -> Tensor {
        apply(input, logarithmic: true)
    }

    /// `dx = y ⊙ (dy − Σ_c dyᶜ yᶜ)`, from the softmax output `y`.
    public static func softmaxBackward(gradientOfOutput gradient: Tensor, output: Tensor) -> Tensor {
        backward(gradient, output, logarithmic: false)
    }

    /// `dx = dy − e^{y} · Σ_c dyᶜ`, from the log-softmax output `y`.
    public static func logSoftmaxBackward(gradientOfOutput gradient: Tensor, output: Tensor) -> Tensor {
        backward(gradient, output, logarithmic: true)
    }

    /// Calls `body(image, positionRange)` over slices of each image's plane, in parallel.
    static func forEachPosition(shape: [Int], _ body: (Int, Range<Int>) -> Void) {
        let batch = shape[0], plane = shape.dropFirst(2).reduce(1, *)
        let slice = 1024
        let slicesPerImage = (plane + slice - 1) / slice
        Parallel.forEach(batch * slicesPerImage) { index in
            let image = index / slicesPerImage, start = (index % slicesPerImage) * slice
            body(image, start..<min(start + slice, plane))
        }
    }

    private static func apply(_ input: Tensor, logarithmic: Bool) -> Tensor {
        require(input.rank >= 2, "softmax: expected [N, C, …], got \(input.shape)")
        let channels = input.shape[1], plane = input.shape.dropFirst(2).reduce(1, *)
        let output = Tensor(uninitializedShape: input.shape)
        nonisolated(unsafe) let x = input.storage.pointer, y = output.storage.pointer
        forEachPosition(shape: input.shape) { image, positions in
            let base = image * channels * plane
            for position in positions {
                var largest = -Float.infinity
                for c in 0..<channels { largest = max(largest, x[base + c * plane + position]) }
                var total: Float = 0
                for c in 0..<channels { total += exp(x[base + c * plane + position] - largest) }
                if logarithmic {
                    let shift = largest + log(total)
                    for c in 0..<channels { y[base + c * plane + position] = x[base + c * plane + position] - shift }
                } else {
                    for c in 0..<channels { y[base + c * plane + position] = exp(x[base + c * plane + position] - largest) / total }
                }
            }
        }
        return output
    }

    private static func backward(_ gradient: Tensor, _ output: Tensor, logarithmic: Bool) -> Tensor {
        require(gradient.shape == output.shape, "softmax backward: gradient \(gradient.shape) differs from output \(output.shape)")
        let channels = output.shape[1], plane = output.shape.dropFirst(2).reduce(1, *)
        let result = Tensor(uninitializedShape: output.shape)
        nonisolated(unsafe) let dy = gradient.storage.pointer, y = output.storage.pointer, dx = result.storage.pointer
        forEachPosition(shape: output.shape) { image, positions in
            let base = image * channels * plane
            for position in positions {
                var total: Float = 0
                for c in 0..<channels {
                    let i = base + c * plane + position
                    total += logarithmic ? dy[i] : dy[i] * y[i]
                }
                for c in 0..<channels {
                    let i = base + c * plane + position
                    dx[i] = logarithmic ? dy[i] - exp(y[i]) * total : y[i] * (dy[i] - total)
                }
            }
        }
        return result
    }
}
