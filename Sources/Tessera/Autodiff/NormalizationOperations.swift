/// Batch normalisation over the channels of `[N, C, …]` (differentiable with respect to
/// input, weight and bias). In training mode it normalises with the batch's statistics
/// and updates `runningMean`/`runningVariance`; otherwise it uses them.
///
/// - Parameters:
///   - rectify: follow with ReLU, fused into the same passes over memory
///     (`relu(batchNorm(x))`, computed faster).
///   - replicas: in training, normalise with the statistics of the batch of all the
///     replicas of a data-parallel job (synchronised batch norm).
public func batchNorm(
    _ input: Tensor, weight: Tensor, bias: Tensor,
    runningMean: inout Tensor, runningVariance: inout Tensor,
    training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5, rectify: Bool = false,
    replicas: (any ReplicaSum)? = nil
) -> Tensor {
    let (output, saved) = training
        ? BatchNormalization.trainingForward(
            input: input, weight: weight, bias: bias, runningMean: &runningMean, runningVariance: &runningVariance,
            momentum: momentum, epsilon: epsilon, rectify: rectify, replicas: replicas)
        : BatchNormalization.inferenceForward(
            input: input, weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
            epsilon: epsilon, rectify: rectify)
    let (x, w) = (input.detached(), weight.detached())
    let rectified = rectify ? output.detached() : nil
    return Tape.record(output, inputs: [input, weight, bias]) { gradient in
        let gradients = BatchNormalization.backward(
            gradientOfOutput: gradient, input: x, weight: w, saved: saved, rectifiedOutput: rectified)
        return [gradients.input, gradients.weight, gradients.bias]
    }
}
