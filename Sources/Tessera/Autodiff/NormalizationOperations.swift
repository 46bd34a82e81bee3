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
    return Tape.record(output, inputs: [input, weight, bias], firstOrderOnly: "batchNorm") { gradient in
        let gradients = BatchNormalization.backward(
            gradientOfOutput: gradient, input: x, weight: w, saved: saved, rectifiedOutput: rectified)
        return [gradients.input, gradients.weight, gradients.bias]
    }
}

/// Group normalisation of `[N, C, …]`: the channels split into `groups` groups, each
/// normalised over its channels and positions, then scaled by `weight` and shifted by
/// `bias` per channel (`[C]`, either may be nil), as PyTorch's `group_norm`
/// (differentiable with respect to input, weight and bias).
public func groupNorm(_ input: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) -> Tensor {
    guard checkShape(
        input.rank >= 2 && groups > 0 && input.shape[1] % groups == 0 && input.shape[1] > 0,
        "group_norm: input \(input.shape) needs [N, C, …] with C a positive multiple of \(groups) groups")
    else { return Tensor.zeros(input.shape) }
    let (batch, channels, plane) = (input.shape[0], input.shape[1], input.shape.dropFirst(2).reduce(1, *))
    let layout = RowNormalization.Layout(rows: batch * groups, length: channels / groups * plane, groups: groups, span: plane)
    return rowNormalized(input, layout: layout, weight: weight, bias: bias, epsilon: epsilon, operation: "groupNorm")
}

/// Layer normalisation over the last dimensions, `normalizedShape`: each such block
/// normalised on its own, then scaled by `weight` and shifted by `bias` element by element
/// (both of shape `normalizedShape`, either may be nil), as PyTorch's `layer_norm`
/// (differentiable with respect to input, weight and bias).
public func layerNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5) -> Tensor {
    let length = normalizedShape.reduce(1, *)
    guard checkShape(
        !normalizedShape.isEmpty && length > 0 && Array(input.shape.suffix(normalizedShape.count)) == normalizedShape,
        "layer_norm: input \(input.shape) does not end in the normalized shape \(normalizedShape)")
    else { return Tensor.zeros(input.shape) }
    let layout = RowNormalization.Layout(rows: input.count / length, length: length, groups: 1, span: 1)
    return rowNormalized(input, layout: layout, weight: weight, bias: bias, epsilon: epsilon, operation: "layerNorm")
}

private func rowNormalized(
    _ input: Tensor, layout: RowNormalization.Layout, weight: Tensor?, bias: Tensor?, epsilon: Float, operation: String
) -> Tensor {
    let (output, saved) = RowNormalization.forward(input: input, layout: layout, weight: weight, bias: bias, epsilon: epsilon)
    let (x, w, biasShape) = (input.detached(), weight?.detached(), bias?.shape)
    return Tape.record(output, inputs: [input] + [weight, bias].compactMap { $0 }, firstOrderOnly: operation) { gradient in
        let gradients = RowNormalization.backward(
            gradientOfOutput: gradient, input: x, layout: layout, weight: w, hasBias: biasShape != nil, saved: saved)
        var result: [Tensor?] = [gradients.input]
        if w != nil { result.append(gradients.weight) }
        if let biasShape { result.append(gradients.bias?.reshaped(biasShape)) }
        return result
    }
}
