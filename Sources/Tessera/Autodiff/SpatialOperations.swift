/// Max pooling of `[N, C, H, W]` (differentiable; the gradient goes to each window's maximum).
public func maxPool2d(_ input: Tensor, kernelSize: Size2D = 2, stride: Size2D? = nil) -> Tensor {
    guard Tape.isRecording(for: [input]) else { return MaxPooling2D.maxima(input: input, kernelSize: kernelSize, stride: stride) }
    let pooled = MaxPooling2D.forward(input: input, kernelSize: kernelSize, stride: stride)
    let argmax = pooled.argmax, shape = input.shape
    return Tape.record(pooled.output, inputs: [input]) {
        [MaxPooling2D.backward(gradientOfOutput: $0, argmax: argmax, inputShape: shape)]
    }
}

/// Concatenation of `[N, Cᵢ, …]` tensors along channels (differentiable).
public func concatenate(_ inputs: [Tensor]) -> Tensor {
    let counts = inputs.map { $0.shape[1] }
    return Tape.record(ChannelConcatenation.concatenate(inputs), inputs: inputs) {
        ChannelConcatenation.split($0, channelCounts: counts)
    }
}

/// Zero padding of the last two dimensions of `[N, C, H, W]` (differentiable).
public func pad(_ input: Tensor, _ amounts: SpatialPadding.Amounts) -> Tensor {
    if amounts.isZero { return input }
    return Tape.record(SpatialPadding.pad(input, amounts), inputs: [input]) { [SpatialPadding.unpad($0, amounts)] }
}

/// Removes `amounts` from the borders of `[N, C, H, W]`, the inverse of ``pad(_:_:)``
/// (differentiable: the gradient is zero-padded back).
public func crop(_ input: Tensor, _ amounts: SpatialPadding.Amounts) -> Tensor {
    if amounts.isZero { return input }
    return Tape.record(SpatialPadding.unpad(input, amounts), inputs: [input]) { [SpatialPadding.pad($0, amounts)] }
}

/// Bilinear up-sampling with `align_corners=True` by an integer factor (differentiable).
public func upsampleBilinear(_ input: Tensor, factor: Int = 2) -> Tensor {
    let shape = input.shape
    return Tape.record(BilinearUpsampling.forward(input, factor: factor), inputs: [input]) {
        [BilinearUpsampling.backward(gradientOfOutput: $0, inputShape: shape, factor: factor)]
    }
}
