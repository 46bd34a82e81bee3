/// A 2-D convolution layer, as PyTorch's `nn.Conv2d`: weight `[Cout, Cin, kH, kW]`,
/// optional bias `[Cout]`, PyTorch's default initialisation.
public final class Conv2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Size2D
    public let padding: Size2D
    public let dilation: Size2D

    /// - Parameters:
    ///   - kernelSize: `3` for 3×3, or `[kH, kW]`.
    ///   - bias: whether to add a learned bias per output channel.
    ///   - generator: draws the initial weights (Kaiming-uniform, a = √5, as PyTorch).
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Size2D,
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1, bias: Bool = true,
        generator: inout RandomGenerator
    ) {
        require(inputChannels > 0 && outputChannels > 0, "Conv2d: channel counts must be positive, got \(inputChannels) → \(outputChannels)")
        let shape = [outputChannels, inputChannels, kernelSize.height, kernelSize.width]
        weight = Parameter(Initializer.pytorchDefault(shape, using: &generator))
        self.bias = bias ? Parameter(Initializer.pytorchDefaultBias(count: outputChannels, weightShape: shape, using: &generator)) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard checkShape(
            input.rank == 4 && input.shape[1] == weight.value.shape[1],
            "Conv2d: input \(input.shape) needs [N, \(weight.value.shape[1]), H, W]")
        else { return input.rank == 4 ? Tensor.zeros(outputShape(of: input.shape)) : Tensor.zeros([]) }
        return conv2d(input, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation)
    }

    /// The convolution followed by `normalization`, and ReLU when `rectify`: the same
    /// result as `normalization(self(input), rectify: rectify)`. In evaluation mode, when no
    /// gradient is recorded, the batch norm's running statistics are folded into the
    /// convolution, which maps each output tile as it is written: one pass over the output
    /// fewer.
    public func callAsFunction(_ input: Tensor, normalizedBy normalization: BatchNorm2d, rectify: Bool = false) -> Tensor {
        let parameters = [weight, normalization.weight, normalization.bias] + (bias.map { [$0] } ?? [])
        let outputChannels = weight.value.shape[0]
        let foldable = !normalization.isTraining && !Tape.isRecording(for: [input] + parameters.map(\.value))
            && input.rank == 4 && input.shape[1] == weight.value.shape[1]
            && [normalization.weight, normalization.bias, normalization.runningMean, normalization.runningVar]
                .allSatisfy { $0.value.shape == [outputChannels] }
        guard foldable else { return normalization(self(input), rectify: rectify) }
        let epilogue = BatchNormalization.inferenceMap(
            weight: normalization.weight.value, bias: normalization.bias.value,
            runningMean: normalization.runningMean.value, runningVariance: normalization.runningVar.value,
            epsilon: normalization.epsilon, rectify: rectify)
        return Convolution2D.forward(
            input: input, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation,
            epilogue: epilogue)
    }

    /// `[N, out, Ho, Wo]` for an input `[N, any, H, W]`.
    private func outputShape(of inputShape: [Int]) -> [Int] {
        let kernel = weight.value.shape
        let geometry = ConvolutionGeometry(
            channels: kernel[1], inputSize: Size2D(inputShape[2], inputShape[3]), kernelSize: Size2D(kernel[2], kernel[3]),
            stride: stride, padding: padding, dilation: dilation)
        return [inputShape[0], kernel[0], geometry.outputSize.height, geometry.outputSize.width]
    }
}
