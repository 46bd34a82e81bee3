import Foundation

/// Elementwise activations and their backward passes, parallel over slices.
public enum Activation {
    /// Elements per worker below which a loop stays on one core.
    static let grain = 1 << 15

    /// `max(x, 0)`.
    public static func relu(_ input: Tensor) -> Tensor {
        unary(input) { Swift.max($0, 0) }
    }

    /// `dy · [y > 0]`, from the forward output `y`.
    public static func reluBackward(gradientOfOutput gradient: Tensor, output: Tensor) -> Tensor {
        binary(gradient, output, operation: "relu backward") { dy, y in y > 0 ? dy : 0 }
    }

    /// `1 / (1 + e^−x)`.
    public static func sigmoid(_ input: Tensor) -> Tensor {
        unary(input) { 1 / (1 + Foundation.exp(-$0)) }
    }

    /// `dy · y · (1 − y)`, from the forward output `y`.
    public static func sigmoidBackward(gradientOfOutput gradient: Tensor, output: Tensor) -> Tensor {
        binary(gradient, output, operation: "sigmoid backward") { dy, y in dy * y * (1 - y) }
    }

    /// `tanh(x)`.
    public static func tanh(_ input: Tensor) -> Tensor {
        unary(input) { Foundation.tanh($0) }
    }

    /// `dy · (1 − y²)`, from the forward output `y`.
    public static func tanhBackward(gradientOfOutput gradient: Tensor, output: Tensor) -> Tensor {
        binary(gradient, output, operation: "tanh backward") { dy, y in dy * (1 - y * y) }
    }

    /// `x` where positive, else `slope · x`.
    public static func leakyRelu(_ input: Tensor, slope: Float) -> Tensor {
        unary(input) { $0 > 0 ? $0 : slope * $0 }
    }

    /// `dy` where `x > 0`, else `slope · dy`, from the forward input `x`.
    public static func leakyReluBackward(gradientOfOutput gradient: Tensor, input: Tensor, slope: Float) -> Tensor {
        binary(gradient, input, operation: "leaky relu backward") { dy, x in x > 0 ? dy : slope * dy }
    }

    /// `x · Φ(x)` with `Φ` the standard normal distribution function (PyTorch's exact GELU).
    public static func gelu(_ input: Tensor) -> Tensor {
        unary(input) { x in x * normalDistribution(x) }
    }

    /// `dy · (Φ(x) + x · φ(x))`, from the forward input `x`.
    public static func geluBackward(gradientOfOutput gradient: Tensor, input: Tensor) -> Tensor {
        binary(gradient, input, operation: "gelu backward") { dy, x in
            dy * (normalDistribution(x) + x * Foundation.exp(-0.5 * x * x) * 0.3989422804014327)
        }
    }

    /// `Φ(x) = (1 + erf(x / √2)) / 2`.
    @inline(__always)
    private static func normalDistribution(_ x: Float) -> Float {
        Float(0.5 * (1 + Foundation.erf(Double(x) * 0.7071067811865476)))
    }

    /// `eˣ`.
    public static func exp(_ input: Tensor) -> Tensor {
        unary(input) { Foundation.exp($0) }
    }

    /// The natural logarithm.
    public static func log(_ input: Tensor) -> Tensor {
        unary(input) { Foundation.log($0) }
    }

    @inline(__always)
    static func unary(_ input: Tensor, _ transform: (Float) -> Float) -> Tensor {
        let output = Tensor(uninitializedShape: input.shape)
        nonisolated(unsafe) let x = input.storage.pointer, y = output.storage.pointer
        Parallel.forEachRange(input.count, grain: grain) { range in
            for index in range { y[index] = transform(x[index]) }
        }
        return output
    }

    @inline(__always)
    static func binary(_ lhs: Tensor, _ rhs: Tensor, operation: String, _ combine: (Float, Float) -> Float) -> Tensor {
        require(lhs.shape == rhs.shape, "\(operation): shapes \(lhs.shape) and \(rhs.shape) differ")
        let output = Tensor(uninitializedShape: lhs.shape)
        nonisolated(unsafe) let a = lhs.storage.pointer, b = rhs.storage.pointer, c = output.storage.pointer
        Parallel.forEachRange(lhs.count, grain: grain) { range in
            for index in range { c[index] = combine(a[index], b[index]) }
        }
        return output
    }
}
