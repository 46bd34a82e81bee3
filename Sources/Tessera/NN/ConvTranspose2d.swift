/// A 2-D transposed convolution layer, as PyTorch's `nn.ConvTranspose2d`: weight
/// `[Cin, Cout, kH, kW]`, optional bias `[Cout]`.
public final class ConvTranspose2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Size2D
    public let padding: Size2D
    public let outputPadding: Size2D

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Size2D,
        stride: Size2D = 1, padding: Size2D = 0, outputPadding: Size2D = 0, bias: Bool = true,
        generator: inout RandomGenerator
    ) {
        require(inputChannels > 0 && outputChannels > 0, "ConvTranspose2d: channel counts must be positive, got \(inputChannels) → \(outputChannels)")
        let shape = [inputChannels, outputChannels, kernelSize.height, kernelSize.width]
        weight = Parameter(Initializer.pytorchDefault(shape, using: &generator))
        self.bias = bias ? Parameter(Initializer.pytorchDefaultBias(count: outputChannels, weightShape: shape, using: &generator)) : nil
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard checkShape(
            input.rank == 4 && input.shape[1] == weight.value.shape[0],
            "ConvTranspose2d: input \(input.shape) needs [N, \(weight.value.shape[0]), H, W]")
        else { return input.rank == 4 ? Tensor.zeros(outputShape(of: input.shape)) : Tensor.zeros([]) }
        return convTranspose2d(
            input, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, outputPadding: outputPadding)
    }

    /// `[N, out, Ho, Wo]` for an input `[N, any, H, W]`.
    private func outputShape(of inputShape: [Int]) -> [Int] {
        let kernel = weight.value.shape
        let geometry = ConvolutionTranspose2D.geometry(
            inputShape: [inputShape[0], kernel[0], inputShape[2], inputShape[3]], weightShape: kernel,
            stride: stride, padding: padding, dilation: 1, outputPadding: outputPadding)
        return [inputShape[0], kernel[1], geometry.inputSize.height, geometry.inputSize.width]
    }
}
