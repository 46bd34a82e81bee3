extension Tensor {
    /// A tensor of `shape` filled with zeros.
    public static func zeros(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, repeating: 0)
    }

    /// A tensor of `shape` filled with ones.
    public static func ones(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, repeating: 1)
    }

    /// A tensor of `shape` filled with `value`.
    public static func full(_ shape: [Int], value: Float) -> Tensor {
        Tensor(shape: shape, repeating: value)
    }

    /// The one-dimensional tensor `[start, start + step, …]` of `count` elements.
    public static func arange(_ count: Int, start: Float = 0, step: Float = 1) -> Tensor {
        let result = Tensor(uninitializedShape: [count])
        for index in 0..<count {
            result.storage.pointer[index] = start + Float(index) * step
        }
        return result
    }

    /// Uniformly distributed values in `[low, high)`.
    public static func uniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, using generator: inout RandomGenerator
    ) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        for index in 0..<result.count {
            result.storage.pointer[index] = low + (high - low) * generator.nextUnitFloat()
        }
        return result
    }

    /// Normally distributed values with the given mean and standard deviation.
    public static func normal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
        using generator: inout RandomGenerator
    ) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        for index in 0..<result.count {
            result.storage.pointer[index] = mean + standardDeviation * generator.nextStandardNormal()
        }
        return result
    }
}
