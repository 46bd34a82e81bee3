/// A fully connected layer, as PyTorch's `nn.Linear`: weight `[out, in]`, bias `[out]`.
public final class Linear: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?

    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        let shape = [outputFeatures, inputFeatures]
        weight = Parameter(Initializer.pytorchDefault(shape, using: &generator))
        self.bias = bias ? Parameter(Initializer.pytorchDefaultBias(count: outputFeatures, weightShape: shape, using: &generator)) : nil
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        linear(input, weight: weight.value, bias: bias?.value)
    }
}
