/// `max(x, 0)`, as PyTorch's `nn.ReLU`.
public final class ReLU: Module, UnaryLayer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { relu(input) }
}

/// `1 / (1 + e^−x)`, as PyTorch's `nn.Sigmoid`.
public final class Sigmoid: Module, UnaryLayer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { sigmoid(input) }
}

/// `tanh(x)`, as PyTorch's `nn.Tanh`.
public final class Tanh: Module, UnaryLayer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { tanh(input) }
}

/// `x` where positive, else `negativeSlope · x`, as PyTorch's `nn.LeakyReLU`.
public final class LeakyReLU: Module, UnaryLayer {
    public let negativeSlope: Float

    public init(negativeSlope: Float = 0.01) {
        self.negativeSlope = negativeSlope
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { leakyRelu(input, negativeSlope: negativeSlope) }
}

/// `x · Φ(x)`, as PyTorch's `nn.GELU()` (the exact form).
public final class GELU: Module, UnaryLayer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { gelu(input) }
}

/// Max pooling, as PyTorch's `nn.MaxPool2d` (no padding, floor mode).
public final class MaxPool2d: Module, UnaryLayer {
    public let kernelSize: Size2D
    public let stride: Size2D

    public init(kernelSize: Size2D = 2, stride: Size2D? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { maxPool2d(input, kernelSize: kernelSize, stride: stride) }
}

/// Average pooling over `kernelSize` windows with the same stride, as PyTorch's
/// `nn.AvgPool2d(k)` (no padding, floor mode: a remainder at the bottom or right is dropped).
public final class AvgPool2d: Module, UnaryLayer {
    public let kernelSize: Size2D

    public init(kernelSize: Size2D = 2) {
        self.kernelSize = kernelSize
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { averagePool2d(input, kernelSize: kernelSize) }
}

/// The mean of each channel, `[N, C, H, W] → [N, C]`, as PyTorch's
/// `nn.AdaptiveAvgPool2d(1)` followed by `flatten(1)`.
public final class GlobalAvgPool2d: Module, UnaryLayer {
    public override init() {}

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard checkShape(input.rank == 4, "GlobalAvgPool2d: expected [N, C, H, W], got \(input.shape)") else {
            return Tensor.zeros(Array(input.shape.prefix(2)))
        }
        return input.flattened(fromAxis: 2).mean(alongAxis: 2)
    }
}

/// All dimensions after the batch merged into one, `[N, …] → [N, features]`, as PyTorch's
/// `nn.Flatten()`.
public final class Flatten: Module, UnaryLayer {
    public override init() {}

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard checkShape(input.rank >= 1, "Flatten: expected [N, …], got \(input.shape)") else { return Tensor.zeros([1, 1]) }
        return input.flattened(fromAxis: 1)
    }
}

/// Bilinear up-sampling by an integer factor with `align_corners=True`, as PyTorch's
/// `nn.Upsample(scale_factor: 2, mode: "bilinear", align_corners: True)`.
public final class Upsample: Module, UnaryLayer {
    public let factor: Int

    public init(factor: Int = 2) {
        self.factor = factor
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { upsampleBilinear(input, factor: factor) }
}

/// Inverted dropout, active in training mode only, with its own seeded generator.
public final class Dropout: Module, UnaryLayer {
    public let probability: Float
    private var generator: RandomGenerator

    public init(probability: Float = 0.5, seed: UInt64) {
        require(probability >= 0 && probability < 1, "Dropout: probability must be in [0, 1), got \(probability)")
        self.probability = probability
        generator = RandomGenerator(seed: seed)
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return input }
        return dropout(input, probability: probability, using: &generator)
    }
}

/// Layers applied one after another, named `0`, `1`, … as in PyTorch's `nn.Sequential`.
public final class Sequential: Module, UnaryLayer {
    public let layers: [any UnaryLayer]

    public init(_ layers: [any UnaryLayer]) {
        self.layers = layers
    }

    public override func namedChildren() -> [(String, Module)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        layers.reduce(input) { $1($0) }
    }
}
