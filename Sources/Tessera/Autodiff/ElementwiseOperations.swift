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

/// Softmax over the channel dimension of `[N, C, …]` (differentiable).
public func softmax(_ input: Tensor) -> Tensor {
    let output = ChannelSoftmax.softmax(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { [ChannelSoftmax.softmaxBackward(gradientOfOutput: $0, output: saved)] }
}

/// Log-softmax over the channel dimension of `[N, C, …]` (differentiable).
public func logSoftmax(_ input: Tensor) -> Tensor {
    let output = ChannelSoftmax.logSoftmax(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { [ChannelSoftmax.logSoftmaxBackward(gradientOfOutput: $0, output: saved)] }
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
