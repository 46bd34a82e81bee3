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
        let (outputs, inputs) = (weight.value.shape[0], weight.value.shape[1])
        guard checkShape(input.rank == 2 && input.shape[1] == inputs, "Linear: input \(input.shape) needs [N, \(inputs)]") else {
            return Tensor.zeros([input.rank >= 1 ? input.shape[0] : 1, outputs])
        }
        return linear(input, weight: weight.value, bias: bias?.value)
    }
}
