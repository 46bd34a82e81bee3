/// Batch normalisation over the channels of `[N, C, H, W]` (PyTorch's `batch_norm`):
/// `y = (x − μ) / √(σ² + ε) · γ + β`.
///
/// In training, μ and σ² are the batch's per-channel mean and biased variance, and the
/// running statistics move towards the batch's mean and *unbiased* variance with
/// `momentum`; in evaluation the running statistics are used.
public enum BatchNormalization {
    /// What the backward pass needs from the forward pass.
    public struct Saved: Sendable {
        /// The per-channel mean used for normalising.
        public let mean: [Float]
        /// The per-channel `1 / √(σ² + ε)` used for normalising.
        public let inverseStandardDeviation: [Float]
        /// Whether μ and σ² came from the batch (training) rather than the running statistics.
        public let usedBatchStatistics: Bool
    }

    /// Normalises with the batch's statistics and updates the running ones.
    ///
    /// - Parameter rectify: apply ReLU to the output in the same pass (batch norm + ReLU
    ///   fused, saving a read and a write of the activation).
    public static func trainingForward(
        input: Tensor, weight: Tensor, bias: Tensor,
        runningMean: inout Tensor, runningVariance: inout Tensor,
        momentum: Float = 0.1, epsilon: Float = 1e-5, rectify: Bool = false
    ) -> (output: Tensor, saved: Saved) {
        let (channels, plane) = checkShapes(input: input, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance)
        let batch = input.shape[0], elements = batch * plane
        require(elements > 1, "batch_norm: training needs more than one value per channel, got input \(input.shape)")
        let mean = ChannelReduction.sum(input).scalars.map { $0 / Float(elements) }
        var variance = [Float](repeating: 0, count: channels)
        variance.withUnsafeMutableBufferPointer { varianceBuffer in
            nonisolated(unsafe) let source = input.storage.pointer
            nonisolated(unsafe) let variances = varianceBuffer.baseAddress!
            Parallel.forEach(channels) { channel in
                let centre = mean[channel]
                var squares = 0.0
                for image in 0..<batch {
                    let x = source + (image * channels + channel) * plane
                    squares += Double(LaneReduction.sumOfSquaredDeviations(x, count: plane, from: centre))
                }
                variances[channel] = Float(squares / Double(elements))
            }
        }
        let inverse = variance.map { 1 / (($0 + epsilon).squareRoot()) }
        let unbiasedScale = Float(elements) / Float(elements - 1)
        runningMean.withUnsafeMutableBufferPointer { running in
            for channel in 0..<channels { running[channel] = (1 - momentum) * running[channel] + momentum * mean[channel] }
        }
        runningVariance.withUnsafeMutableBufferPointer { running in
            for channel in 0..<channels {
                running[channel] = (1 - momentum) * running[channel] + momentum * variance[channel] * unbiasedScale
            }
        }
        let output = normalise(input, mean: mean, inverseStandardDeviation: inverse, weight: weight, bias: bias, rectify: rectify)
        return (output, Saved(mean: mean, inverseStandardDeviation: inverse, usedBatchStatistics: true))
    }

    /// Normalises with the running statistics (evaluation mode).
    public static func inferenceForward(
        input: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
        epsilon: Float = 1e-5, rectify: Bool = false
    ) -> (output: Tensor, saved: Saved) {
        _ = checkShapes(input: input, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance)
        let mean = runningMean.scalars
        let inverse = runningVariance.scalars.map { 1 / (($0 + epsilon).squareRoot()) }
        let output = normalise(input, mean: mean, inverseStandardDeviation: inverse, weight: weight, bias: bias, rectify: rectify)
        return (output, Saved(mean: mean, inverseStandardDeviation: inverse, usedBatchStatistics: false))
    }

    /// Gradients with respect to the input, γ and β.
    ///
    /// With batch statistics, `dx = γ·s/M · (M·dy − Σdy − x̂·Σ(dy·x̂))` where `s = 1/√(σ²+ε)`,
    /// `x̂ = (x − μ)·s` and `M = N·H·W`; with running statistics, `dx = γ·s·dy`.
    ///
    /// - Parameter rectifiedOutput: for a fused batch norm + ReLU, its output `y`; the
    ///   gradient is then first masked to `dy · [y > 0]`.
    public static func backward(
        gradientOfOutput gradient: Tensor, input: Tensor, weight: Tensor, saved: Saved, rectifiedOutput: Tensor? = nil
    ) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        require(gradient.shape == input.shape, "batch_norm backward: gradient \(gradient.shape) differs from input \(input.shape)")
        if let rectifiedOutput {
            require(rectifiedOutput.shape == input.shape, "batch_norm backward: rectified output \(rectifiedOutput.shape) differs from input \(input.shape)")
        }
        let batch = input.shape[0], channels = input.shape[1]
        let plane = input.shape.dropFirst(2).reduce(1, *), elements = batch * plane
        let gradientInput = Tensor(uninitializedShape: input.shape)
        let gradientWeight = Tensor(uninitializedShape: [channels])
        let gradientBias = Tensor(uninitializedShape: [channels])
        saved.mean.withUnsafeBufferPointer { meanBuffer in
            saved.inverseStandardDeviation.withUnsafeBufferPointer { inverseBuffer in
                nonisolated(unsafe) let x = input.storage.pointer
                nonisolated(unsafe) let dx = gradientInput.storage.pointer
                // Through a fused ReLU the gradient is dy · [y > 0], masked on the fly.
                nonisolated(unsafe) let dy = gradient.storage.pointer
                nonisolated(unsafe) let y = rectifiedOutput.map { UnsafePointer($0.storage.pointer) }
                nonisolated(unsafe) let dWeight = gradientWeight.storage.pointer, dBias = gradientBias.storage.pointer
                nonisolated(unsafe) let gamma = weight.storage.pointer
                nonisolated(unsafe) let means = meanBuffer.baseAddress!, inverses = inverseBuffer.baseAddress!
                Parallel.forEach(channels) { channel in
                    let mean = means[channel], inverse = inverses[channel]
                    var sumGradient = 0.0, sumGradientTimesNormalised = 0.0
                    for image in 0..<batch {
                        let offset = (image * channels + channel) * plane
                        let sums = LaneReduction.gradientSums(
                            dy + offset, x + offset, rectifiedOutput: y.map { $0 + offset }, count: plane, centre: mean)
                        sumGradient += Double(sums.gradient)
                        sumGradientTimesNormalised += Double(sums.gradientTimesDeviation) * Double(inverse)
                    }
                    dBias[channel] = Float(sumGradient)
                    dWeight[channel] = Float(sumGradientTimesNormalised)
                    // Running statistics are constants: then dx = γ·s·dy alone.
                    let terms = saved.usedBatchStatistics
                        ? InputGradientTerms(
                            scale: gamma[channel] * inverse, mean: mean, inverse: inverse,
                            meanGradient: Float(sumGradient / Double(elements)),
                            meanProduct: Float(sumGradientTimesNormalised / Double(elements)))
                        : InputGradientTerms(scale: gamma[channel] * inverse, mean: mean, inverse: inverse, meanGradient: 0, meanProduct: 0)
                    for image in 0..<batch {
                        let offset = (image * channels + channel) * plane
                        terms.write(into: dx + offset, dy: dy + offset, x: x + offset, rectifiedOutput: y.map { $0 + offset }, count: plane)
                    }
                }
            }
        }
        return (gradientInput, gradientWeight, gradientBias)
    }

    /// The per-channel constants of `dx = scale · (g − meanGradient − x̂ · meanProduct)`,
    /// `x̂ = (x − mean) · inverse`, `g` the output gradient (through the fused ReLU if any).
    private struct InputGradientTerms {
        let scale, mean, inverse, meanGradient, meanProduct: Float

        /// Writes `count` elements of dx, sixteen lanes at a time.
        func write(
            into dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
            rectifiedOutput y: UnsafePointer<Float>?, count: Int
        ) {
            typealias Lanes = LaneAccess.Lanes
            var index = 0
            while index + Lanes.scalarCount <= count {
                let g = LaneReduction.loadGradient(dy, through: y, index)
                let normalised = (LaneAccess.load(x + index) - mean) * inverse
                let value = scale * (g - meanGradient - normalised * meanProduct)
                LaneAccess.store(value, to: dx + index)
                index += Lanes.scalarCount
            }
            while index < count {
                let g = LaneReduction.gradient(dy, through: y, index)
                dx[index] = scale * (g - meanGradient - (x[index] - mean) * inverse * meanProduct)
                index += 1
            }
        }
    }

    /// `y = (x − mean) · inverse · γ + β` (then `max(y, 0)` when rectifying), parallel over
    /// channels.
    private static func normalise(
        _ input: Tensor, mean: [Float], inverseStandardDeviation inverse: [Float], weight: Tensor, bias: Tensor, rectify: Bool
    ) -> Tensor {
        let batch = input.shape[0], channels = input.shape[1]
        let plane = input.shape.dropFirst(2).reduce(1, *)
        let output = Tensor(uninitializedShape: input.shape)
        nonisolated(unsafe) let x = input.storage.pointer, y = output.storage.pointer
        nonisolated(unsafe) let gamma = weight.storage.pointer, beta = bias.storage.pointer
        Parallel.forEach(batch * channels) { index in
            let channel = index % channels
            let scale = gamma[channel] * inverse[channel]
            let shift = beta[channel] - mean[channel] * scale
            let start = index * plane
            if rectify {
                for position in start..<(start + plane) { y[position] = max(x[position] * scale + shift, 0) }
            } else {
                for position in start..<(start + plane) { y[position] = x[position] * scale + shift }
            }
        }
        return output
    }

    private static func checkShapes(
        input: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor
    ) -> (channels: Int, plane: Int) {
        require(input.rank >= 2, "batch_norm: expected input [N, C, …], got \(input.shape)")
        let channels = input.shape[1]
        for (name, tensor) in [("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVariance)] {
            require(tensor.shape == [channels], "batch_norm: \(name) has shape \(tensor.shape), expected [\(channels)] for input \(input.shape)")
        }
        return (channels, input.shape.dropFirst(2).reduce(1, *))
    }
}
