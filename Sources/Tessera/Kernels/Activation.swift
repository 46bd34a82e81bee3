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
        unary(input) { 1 / (1 + exp(-$0)) }
    }

    /// `dy · y · (1 − y)`, from the forward output `y`.
    public static func sigmoidBackward(gradientOfOutput gradient: Tensor, output: Tensor) -> Tensor {
        binary(gradient, output, operation: "sigmoid backward") { dy, y in dy * y * (1 - y) }
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
