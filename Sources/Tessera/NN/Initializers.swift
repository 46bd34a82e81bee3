import Foundation

/// Weight initialisations, each drawing from an explicit generator.
///
/// Fan-in and fan-out follow PyTorch: for a weight of shape `[d0, d1, k…]`, fan-in is
/// `d1 · Πk` and fan-out `d0 · Πk` (for a transposed convolution, whose weight is
/// `[Cin, Cout, k…]`, PyTorch's convention makes fan-in `Cout · Πk`).
public enum Initializer {
    /// `(fanIn, fanOut)` of a weight shape.
    public static func fans(of shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        require(shape.count >= 2, "Initializer: weights need at least 2 dimensions, got \(shape)")
        let receptiveField = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptiveField, shape[0] * receptiveField)
    }

    /// PyTorch's default for convolution and linear weights: Kaiming-uniform with
    /// `a = √5`, i.e. uniform in `±1/√fanIn`.
    public static func pytorchDefault(_ shape: [Int], using generator: inout RandomGenerator) -> Tensor {
        kaimingUniform(shape, negativeSlope: Float(5).squareRoot(), using: &generator)
    }

    /// PyTorch's default bias: uniform in `±1/√fanIn` of the layer's weight.
    public static func pytorchDefaultBias(count: Int, weightShape: [Int], using generator: inout RandomGenerator) -> Tensor {
        let bound = 1 / Float(max(1, fans(of: weightShape).fanIn)).squareRoot()
        return Tensor.uniform([count], low: -bound, high: bound, using: &generator)
    }

    /// Kaiming (He) uniform: bound `gain · √(3 / fanIn)` with `gain = √(2 / (1 + a²))`.
    public static func kaimingUniform(_ shape: [Int], negativeSlope a: Float = 0, using generator: inout RandomGenerator) -> Tensor {
        let gain = (2 / (1 + a * a)).squareRoot()
        let bound = gain * (3 / Float(fans(of: shape).fanIn)).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, using: &generator)
    }

    /// Kaiming (He) normal: standard deviation `gain / √fanIn`.
    public static func kaimingNormal(_ shape: [Int], negativeSlope a: Float = 0, using generator: inout RandomGenerator) -> Tensor {
        let gain = (2 / (1 + a * a)).squareRoot()
        return Tensor.normal(shape, standardDeviation: gain / Float(fans(of: shape).fanIn).squareRoot(), using: &generator)
    }

    /// Xavier (Glorot) uniform: bound `gain · √(6 / (fanIn + fanOut))`.
    public static func xavierUniform(_ shape: [Int], gain: Float = 1, using generator: inout RandomGenerator) -> Tensor {
        let (fanIn, fanOut) = fans(of: shape)
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, using: &generator)
    }

    /// Xavier (Glorot) normal: standard deviation `gain · √(2 / (fanIn + fanOut))`.
    public static func xavierNormal(_ shape: [Int], gain: Float = 1, using generator: inout RandomGenerator) -> Tensor {
        let (fanIn, fanOut) = fans(of: shape)
        return Tensor.normal(shape, standardDeviation: gain * (2 / Float(fanIn + fanOut)).squareRoot(), using: &generator)
    }

    /// A (semi-)orthogonal weight: the weight viewed as `[d0, rest]` has orthonormal rows
    /// or columns, from the QR decomposition (LAPACKE) of a Gaussian matrix, with the
    /// signs fixed as PyTorch does.
    public static func orthogonal(_ shape: [Int], gain: Float = 1, using generator: inout RandomGenerator) throws -> Tensor {
        let rows = shape[0], columns = shape.dropFirst().reduce(1, *)
        let gaussian = Tensor.normal(rows < columns ? [columns, rows] : [rows, columns], using: &generator)
        var (q, r) = try LinearAlgebra.qr(gaussian)
        // Make the decomposition unique: multiply each column of Q by the sign of R's diagonal.
        let k = min(rows, columns)
        for column in 0..<k where r[column, column] < 0 {
            for row in 0..<q.shape[0] { q[row, column] = -q[row, column] }
        }
        let matrix = rows < columns ? q.transposed() : q
        return (matrix * gain).detached().reshaped(shape)
    }
}
