/// Layer normalisation over the last dimensions, as PyTorch's
/// `nn.LayerNorm(normalizedShape)`: each block of shape `normalizedShape` normalised on its
/// own; learned element-wise `weight` (ones) and `bias` (zeros) of that shape unless
/// `elementwiseAffine` is false.
public final class LayerNorm: Module, UnaryLayer {
    public let normalizedShape: [Int]
    public let weight: Parameter?
    public let bias: Parameter?
    public let epsilon: Float

    public init(normalizedShape: [Int], epsilon: Float = 1e-5, elementwiseAffine: Bool = true) {
        require(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 }, "LayerNorm: normalized shape \(normalizedShape) must be positive sizes")
        self.normalizedShape = normalizedShape
        weight = elementwiseAffine ? Parameter(Tensor.ones(normalizedShape)) : nil
        bias = elementwiseAffine ? Parameter(Tensor.zeros(normalizedShape)) : nil
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        layerNorm(input, normalizedShape: normalizedShape, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }
}
