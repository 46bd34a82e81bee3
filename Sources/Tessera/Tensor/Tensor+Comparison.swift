extension Tensor {
    /// Whether both tensors have the same shape and every pair of elements satisfies
    /// `|a − b| ≤ absoluteTolerance + relativeTolerance · |b|` (NumPy's `allclose`).
    public func isApproximatelyEqual(
        to other: Tensor, relativeTolerance: Float = 1e-5, absoluteTolerance: Float = 1e-6
    ) -> Bool {
        guard shape == other.shape else { return false }
        return maximumViolation(of: other, relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance) <= 0
    }

    /// How far the worst element pair is past the tolerance (≤ 0 when all are within it).
    func maximumViolation(of other: Tensor, relativeTolerance: Float, absoluteTolerance: Float) -> Float {
        let a = storage.pointer, b = other.storage.pointer
        var worst = -Float.infinity
        for index in 0..<count {
            let difference = abs(a[index] - b[index])
            guard difference.isFinite || a[index] == b[index] else { return .infinity }
            worst = Swift.max(worst, difference - (absoluteTolerance + relativeTolerance * abs(b[index])))
        }
        return worst
    }

    /// The largest absolute difference between two tensors of equal shape.
    public func maximumAbsoluteDifference(to other: Tensor) -> Float {
        require(shape == other.shape, "maximumAbsoluteDifference: shapes \(shape) and \(other.shape) differ")
        let a = storage.pointer, b = other.storage.pointer
        var worst: Float = 0
        for index in 0..<count {
            worst = Swift.max(worst, abs(a[index] - b[index]))
        }
        return worst
    }
}

extension Tensor: Equatable {
    /// Exact equality of shape and every element.
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && (lhs.storage === rhs.storage || lhs.scalars == rhs.scalars)
    }
}
