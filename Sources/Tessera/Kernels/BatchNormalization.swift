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
        /// Where the batch is split over replicas: the sum over them, and the number of
        /// values per channel in the whole batch.
        let replicas: (sum: any ReplicaSum, elements: Int)?
    }

    /// Normalises with the batch's statistics and updates the running ones.
    ///
    /// - Parameters:
    ///   - rectify: apply ReLU to the output in the same pass (batch norm + ReLU fused,
    ///     saving a read and a write of the activation).
    ///   - replicas: where the batch is split over the replicas of a data-parallel job,
    ///     their sum: the statistics are then those of the whole batch (every replica calls
    ///     this for the same layers in the same order).
    public static func trainingForward(
        input: Tensor, weight: Tensor, bias: Tensor,
        runningMean: inout Tensor, runningVariance: inout Tensor,
        momentum: Float = 0.1, epsilon: Float = 1e-5, rectify: Bool = false, replicas: (any ReplicaSum)? = nil
    ) -> (output: Tensor, saved: Saved) {
        let (channels, plane) = checkShapes(input: input, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance)
        let batch = input.shape[0]
        var elements = batch * plane
        var sums = ChannelReduction.sum(input).scalars.map(Double.init)
        if let replicas {
            sums.append(Double(elements))
            replicas.sumOverReplicas(&sums)
            elements = Int(sums.removeLast())
        }
        require(elements > 1, "batch_norm: training needs more than one value per channel, got input \(input.shape)")
        let mean = sums.map { Float($0 / Double(elements)) }
        var squares = [Double](repeating: 0, count: channels)
        squares.withUnsafeMutableBufferPointer { squaresBuffer in
            nonisolated(unsafe) let source = input.storage.pointer
            nonisolated(unsafe) let totals = squaresBuffer.baseAddress!
            Parallel.forEach(channels) { channel in
                let centre = mean[channel]
                var total = 0.0
                for image in 0..<batch {
                    let x = source + (image * channels + channel) * plane
                    total += Double(LaneReduction.sumOfSquaredDeviations(x, count: plane, from: centre))
                }
                totals[channel] = total
            }
        }
        replicas?.sumOverReplicas(&squares)
        let variance = squares.map { Float($0 / Double(elements)) }
        let inverse = inverseStandardDeviations(variance, epsilon: epsilon)
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
        return (output, Saved(
            mean: mean, inverseStandardDeviation: inverse, usedBatchStatistics: true,
            replicas: replicas.map { ($0, elements) }))
    }

    /// Normalises with the running statistics (evaluation mode).
    public static func inferenceForward(
        input: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
        epsilon: Float = 1e-5, rectify: Bool = false
    ) -> (output: Tensor, saved: Saved) {
        _ = checkShapes(input: input, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance)
        let mean = runningMean.scalars
        let inverse = inverseStandardDeviations(runningVariance.scalars, epsilon: epsilon)
        let output = normalise(input, mean: mean, inverseStandardDeviation: inverse, weight: weight, bias: bias, rectify: rectify)
        return (output, Saved(mean: mean, inverseStandardDeviation: inverse, usedBatchStatistics: false, replicas: nil))
    }

    /// Evaluation mode's normalisation (and ReLU when `rectify`) as one per-channel map,
    /// for a convolution to apply to its output tiles: the same scales and shifts as
    /// ``inferenceForward(input:weight:bias:runningMean:runningVariance:epsilon:rectify:)``,
    /// so that the folded result equals the unfolded one.
    public static func inferenceMap(
        weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Float = 1e-5, rectify: Bool = false
    ) -> ChannelAffine {
        let (scale, shift) = scalesAndShifts(
            mean: runningMean.scalars, inverseStandardDeviation: inverseStandardDeviations(runningVariance.scalars, epsilon: epsilon),
            weight: weight.scalars, bias: bias.scalars)
        return ChannelAffine(scale: scale, shift: shift, rectify: rectify)
    }

    /// `1/√(σ² + ε)` of each variance.
    private static func inverseStandardDeviations(_ variance: [Float], epsilon: Float) -> [Float] {
        variance.map { 1 / (($0 + epsilon).squareRoot()) }
    }

    /// `y = (x − mean)·inverse·γ + β` as `y = scale·x + shift`, per channel.
    private static func scalesAndShifts(
        mean: [Float], inverseStandardDeviation inverse: [Float], weight gamma: [Float], bias beta: [Float]
    ) -> (scale: [Float], shift: [Float]) {
        let scale = (0..<gamma.count).map { gamma[$0] * inverse[$0] }
        return (scale, (0..<gamma.count).map { beta[$0] - mean[$0] * scale[$0] })
    }

    /// Gradients with respect to the input, γ and β.
    ///
    /// With batch statistics, `dx = γ·s/M · (M·dy − Σdy − x̂·Σ(dy·x̂))` where `s = 1/√(σ²+ε)`,
    /// `x̂ = (x − μ)·s` and `M = N·H·W`; with running statistics, `dx = γ·s·dy`. When the
    /// forward pass summed over replicas, the sums and `M` in `dx` span the whole batch,
    /// while γ and β get this replica's part.
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
                /// Σdy and Σ(dy·x̂) of one channel over this batch.
                func sums(_ channel: Int) -> (gradient: Double, gradientTimesNormalised: Double) {
                    var sumGradient = 0.0, sumGradientTimesNormalised = 0.0
                    for image in 0..<batch {
                        let offset = (image * channels + channel) * plane
                        let sums = LaneReduction.gradientSums(
                            dy + offset, x + offset, rectifiedOutput: y.map { $0 + offset }, count: plane, centre: means[channel])
                        sumGradient += Double(sums.gradient)
                        sumGradientTimesNormalised += Double(sums.gradientTimesDeviation) * Double(inverses[channel])
                    }
                    return (sumGradient, sumGradientTimesNormalised)
                }
                /// dx of one channel from the sums over the whole batch (of all replicas).
                func writeInputGradient(_ channel: Int, sumGradient: Double, sumGradientTimesNormalised: Double, elements: Int) {
                    let mean = means[channel], inverse = inverses[channel]
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
                guard let replicas = saved.replicas else {
                    // One pass per channel: its data is still in cache when dx is written.
                    Parallel.forEach(channels) { channel in
                        let (sumGradient, sumGradientTimesNormalised) = sums(channel)
                        dBias[channel] = Float(sumGradient)
                        dWeight[channel] = Float(sumGradientTimesNormalised)
                        writeInputGradient(
                            channel, sumGradient: sumGradient, sumGradientTimesNormalised: sumGradientTimesNormalised, elements: elements)
                    }
                    return
                }
                // γ and β get this replica's share (data parallelism averages them); dx
                // needs the sums over the whole batch.
                var totals = [Double](repeating: 0, count: 2 * channels)
                totals.withUnsafeMutableBufferPointer { totalsBuffer in
                    nonisolated(unsafe) let local = totalsBuffer.baseAddress!
                    Parallel.forEach(channels) { channel in
                        let (sumGradient, sumGradientTimesNormalised) = sums(channel)
                        dBias[channel] = Float(sumGradient)
                        dWeight[channel] = Float(sumGradientTimesNormalised)
                        (local[channel], local[channels + channel]) = (sumGradient, sumGradientTimesNormalised)
                    }
                }
                replicas.sum.sumOverReplicas(&totals)
                let global = totals
                Parallel.forEach(channels) { channel in
                    writeInputGradient(
                        channel, sumGradient: global[channel], sumGradientTimesNormalised: global[channels + channel],
                        elements: replicas.elements)
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
        let (scales, shifts) = scalesAndShifts(mean: mean, inverseStandardDeviation: inverse, weight: weight.scalars, bias: bias.scalars)
        Parallel.forEach(batch * channels) { index in
            let channel = index % channels
            let scale = scales[channel], shift = shifts[channel]
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
