/// `max(x, 0)` (differentiable).
public func relu(_ input: Tensor) -> Tensor {
    let output = Activation.relu(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { [Activation.reluBackward(gradientOfOutput: $0, output: saved)] }
}

/// `1 / (1 + e^−x)` (differentiable).
public func sigmoid(_ input: Tensor) -> Tensor {
    let output = Activation.sigmoid(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { [Activation.sigmoidBackward(gradientOfOutput: $0, output: saved)] }
}

/// `tanh(x)` (differentiable).
public func tanh(_ input: Tensor) -> Tensor {
    let output = Activation.tanh(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { [Activation.tanhBackward(gradientOfOutput: $0, output: saved)] }
}

/// `x` where positive, else `negativeSlope · x`, as PyTorch's `leaky_relu` (differentiable).
public func leakyRelu(_ input: Tensor, negativeSlope: Float = 0.01) -> Tensor {
    let saved = input.detached()
    return Tape.record(Activation.leakyRelu(input, slope: negativeSlope), inputs: [input]) {
        [Activation.leakyReluBackward(gradientOfOutput: $0, input: saved, slope: negativeSlope)]
    }
}

/// `x · Φ(x)`, PyTorch's exact `gelu` (differentiable).
public func gelu(_ input: Tensor) -> Tensor {
    let saved = input.detached()
    return Tape.record(Activation.gelu(input), inputs: [input]) { [Activation.geluBackward(gradientOfOutput: $0, input: saved)] }
}

/// `eˣ` element by element (differentiable).
public func exp(_ input: Tensor) -> Tensor {
    let output = Activation.exp(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { [$0 * saved] }
}

/// The natural logarithm element by element (differentiable).
public func log(_ input: Tensor) -> Tensor {
    let saved = input.detached()
    return Tape.record(Activation.log(input), inputs: [input]) { [$0 / saved] }
}

/// Softmax along `axis`, by default the channels of `[N, C, …]`, as PyTorch's
/// `softmax(input, dim)` (differentiable).
public func softmax(_ input: Tensor, alongAxis axis: Int = 1) -> Tensor {
    guard let folded = foldedAround(input, axis: axis, name: "softmax") else { return Tensor.zeros(input.shape) }
    let output = ChannelSoftmax.softmax(folded)
    let saved = output.detached()
    return Tape.record(output, inputs: [folded]) {
        [ChannelSoftmax.softmaxBackward(gradientOfOutput: $0, output: saved)]
    }.reshaped(input.shape)
}

/// Log-softmax along `axis`, by default the channels of `[N, C, …]`, as PyTorch's
/// `log_softmax(input, dim)` (differentiable).
public func logSoftmax(_ input: Tensor, alongAxis axis: Int = 1) -> Tensor {
    guard let folded = foldedAround(input, axis: axis, name: "logSoftmax") else { return Tensor.zeros(input.shape) }
    let output = ChannelSoftmax.logSoftmax(folded)
    let saved = output.detached()
    return Tape.record(output, inputs: [folded]) {
        [ChannelSoftmax.logSoftmaxBackward(gradientOfOutput: $0, output: saved)]
    }.reshaped(input.shape)
}

/// `input` viewed as `[before, shape[axis], after]`, the layout the channel kernels read;
/// nil for an axis out of range inside a ``withError(_:)`` scope.
private func foldedAround(_ input: Tensor, axis: Int, name: String) -> Tensor? {
    guard checkShape(axis >= 0 && axis < input.rank, "\(name)(alongAxis:): axis \(axis) out of range for shape \(input.shape)")
    else { return nil }
    let shape = input.shape
    return input.reshaped([shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *)])
}

/// Zeroes each element with probability `probability` and scales the rest by
/// `1 / (1 − probability)` (inverted dropout, differentiable); the mask comes from
/// `generator`.
public func dropout(_ input: Tensor, probability: Float, using generator: inout RandomGenerator) -> Tensor {
    require(probability >= 0 && probability < 1, "dropout: probability must be in [0, 1), got \(probability)")
    let scale = 1 / (1 - probability)
    var mask = Tensor(shape: input.shape, repeating: 0)
    mask.withUnsafeMutableBufferPointer { buffer in
        for index in buffer.indices where generator.nextUnitFloat() >= probability { buffer[index] = scale }
    }
    return input * mask
}
