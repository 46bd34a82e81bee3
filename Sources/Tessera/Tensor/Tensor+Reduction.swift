extension Tensor {
    /// The sum of all elements (accumulated in `Double`).
    public func sum() -> Float {
        var total = 0.0
        let a = storage.pointer
        for index in 0..<count { total += Double(a[index]) }
        return Float(total)
    }

    /// The mean of all elements.
    public func mean() -> Float {
        require(count > 0, "Tensor.mean: tensor of shape \(shape) is empty")
        return sum() / Float(count)
    }

    /// The largest element.
    public func max() -> Float {
        require(count > 0, "Tensor.max: tensor of shape \(shape) is empty")
        return withUnsafeBufferPointer { $0.max()! }
    }

    /// Sums over `axis`, removing it from the shape.
    public func sum(alongAxis axis: Int) -> Tensor {
        reduce(alongAxis: axis, name: "sum", initial: 0, combine: +, finish: { total, _ in total })
    }

    /// Averages over `axis`, removing it from the shape.
    public func mean(alongAxis axis: Int) -> Tensor {
        reduce(alongAxis: axis, name: "mean", initial: 0, combine: +, finish: { total, n in total / Float(n) })
    }

    /// The maximum over `axis`, removing it from the shape.
    public func max(alongAxis axis: Int) -> Tensor {
        reduce(alongAxis: axis, name: "max", initial: -.infinity, combine: Swift.max, finish: { value, _ in value })
    }

    /// Views the tensor as `[outer, axis, inner]` and folds the middle dimension.
    private func reduce(
        alongAxis axis: Int, name: String, initial: Float,
        combine: (Float, Float) -> Float, finish: (Float, Int) -> Float
    ) -> Tensor {
        require(
            axis >= 0 && axis < rank,
            "Tensor.\(name)(alongAxis:): axis \(axis) out of range for shape \(shape)")
        let outer = shape[..<axis].reduce(1, *)
        let length = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var resultShape = shape
        resultShape.remove(at: axis)
        let result = Tensor(uninitializedShape: resultShape)
        let source = storage.pointer, target = result.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var accumulator = initial
                for l in 0..<length {
                    accumulator = combine(accumulator, source[(o * length + l) * inner + i])
                }
                target[o * inner + i] = finish(accumulator, length)
            }
        }
        return result
    }
}
