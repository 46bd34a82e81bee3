/// `max(x, 0)` (differentiable).
public func relu(_ input: Tensor) -> Tensor {
    let output = Activation.relu(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { gradient in
        // A nested scope's replay multiplies by the (constant) mask as an operation.
        guard Tape.active == nil else { return [gradient * saved.map { $0 > 0 ? 1 : 0 }] }
        return [Activation.reluBackward(gradientOfOutput: gradient, output: saved)]
    }
}

/// `1 / (1 + e^−x)` (differentiable).
public func sigmoid(_ input: Tensor) -> Tensor {
    let output = Activation.sigmoid(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { gradient in
        guard Tape.active == nil else {
            let s = sigmoid(input)
            return [gradient * s * (1 - s)]
        }
        return [Activation.sigmoidBackward(gradientOfOutput: gradient, output: saved)]
    }
}

/// `tanh(x)` (differentiable).
public func tanh(_ input: Tensor) -> Tensor {
    let output = Activation.tanh(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { gradient in
        guard Tape.active == nil else {
            let t = tanh(input)
            return [gradient * (1 - t * t)]
        }
        return [Activation.tanhBackward(gradientOfOutput: gradient, output: saved)]
    }
}

/// `x` where positive, else `negativeSlope · x`, as PyTorch's `leaky_relu` (differentiable).
public func leakyRelu(_ input: Tensor, negativeSlope: Float = 0.01) -> Tensor {
    let saved = input.detached()
    return Tape.record(Activation.leakyRelu(input, slope: negativeSlope), inputs: [input]) { gradient in
        guard Tape.active == nil else { return [gradient * saved.map { $0 > 0 ? 1 : negativeSlope }] }
        return [Activation.leakyReluBackward(gradientOfOutput: gradient, input: saved, slope: negativeSlope)]
    }
}

/// `x · Φ(x)`, PyTorch's exact `gelu` (differentiable).
public func gelu(_ input: Tensor) -> Tensor {
    let saved = input.detached()
    return Tape.record(Activation.gelu(input), inputs: [input], firstOrderOnly: "gelu") { [Activation.geluBackward(gradientOfOutput: $0, input: saved)] }
}

/// `eˣ` element by element (differentiable).
public func exp(_ input: Tensor) -> Tensor {
    let output = Activation.exp(input)
    let saved = output.detached()
    return Tape.record(output, inputs: [input]) { Tape.active == nil ? [$0 * saved] : [$0 * exp(input)] }
}

/// The natural logarithm element by element (differentiable).
public func log(_ input: Tensor) -> Tensor {
    return Tape.record(Activation.log(input), inputs: [input]) { [$0 / input] }
}

/// Softmax along `axis`, by default the channels of `[N, C, …]`, as PyTorch's
/// `softmax(input, dim)` (differentiable).
public func softmax(_ input: Tensor, alongAxis axis: Int = 1) -> Tensor {
    guard let folded = foldedAround(input, axis: axis, name: "softmax") else { return Tensor.zeros(input.shape) }
    let output = ChannelSoftmax.softmax(folded)
    let saved = output.detached()
    return Tape.record(output, inputs: [folded]) { gradient in
        // dx = s·(g − Σ g·s), recorded by a nested scope's replay.
        guard Tape.active == nil else {
            let s = softmax(folded)
            return [s * (gradient - (gradient * s).sum(alongAxis: 1).reshaped(channelSum(of: folded)))]
        }
        return [ChannelSoftmax.softmaxBackward(gradientOfOutput: gradient, output: saved)]
    }.reshaped(input.shape)
}

/// Log-softmax along `axis`, by default the channels of `[N, C, …]`, as PyTorch's
/// `log_softmax(input, dim)` (differentiable).
public func logSoftmax(_ input: Tensor, alongAxis axis: Int = 1) -> Tensor {
    guard let folded = foldedAround(input, axis: axis, name: "logSoftmax") else { return Tensor.zeros(input.shape) }
    let output = ChannelSoftmax.logSoftmax(folded)
    let saved = output.detached()
    return Tape.record(output, inputs: [folded]) { gradient in
        // dx = g − softmax(x)·Σ g, recorded by a nested scope's replay.
        guard Tape.active == nil else {
            return [gradient - softmax(folded) * gradient.sum(alongAxis: 1).reshaped(channelSum(of: folded))]
        }
        return [ChannelSoftmax.logSoftmaxBackward(gradientOfOutput: gradient, output: saved)]
    }.reshaped(input.shape)
}

/// The shape `[before, 1, after]` of a sum over the middle axis of `folded`, kept for
/// broadcasting.
private func channelSum(of folded: Tensor) -> [Int] {
    [folded.shape[0], 1, folded.shape[2]]
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
