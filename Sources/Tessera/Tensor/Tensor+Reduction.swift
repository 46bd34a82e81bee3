extension Tensor {
    /// The sum of all elements, as a tensor of shape `[]` (differentiable; accumulated in
    /// `Double`). `.scalar` reads it as a `Float`.
    public func sum() -> Tensor {
        var total = 0.0
        let a = storage.pointer
        for index in 0..<count { total += Double(a[index]) }
        let shape = self.shape
        return Tape.record(Tensor(shape: [], scalars: [Float(total)]), inputs: [self]) { [$0.expanded(to: shape)] }
    }

    /// The mean of all elements, as a tensor of shape `[]` (differentiable).
    public func mean() -> Tensor {
        guard checkShape(count > 0, "Tensor.mean: tensor of shape \(shape) is empty") else { return Tensor.zeros([]) }
        return sum() / Float(count)
    }

    /// The largest element, as a tensor of shape `[]` (differentiable: the gradient goes to
    /// the first largest element).
    public func max() -> Tensor {
        guard checkShape(count > 0, "Tensor.max: tensor of shape \(shape) is empty") else { return Tensor.zeros([]) }
        return reshaped([count]).max(alongAxis: 0)
    }

    /// Sums over `axis`, removing it from the shape (differentiable).
    public func sum(alongAxis axis: Int) -> Tensor {
        guard let (outer, length, inner) = folding(axis, name: "sum") else { return Tensor.zeros(Array(shape.dropLast())) }
        let result = uninitialized(removing: axis)
        let source = storage.pointer, target = result.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                var total: Float = 0
                for l in 0..<length { total += source[(o * length + l) * inner + i] }
                target[o * inner + i] = total
            }
        }
        let shape = self.shape
        return Tape.record(result, inputs: [self]) { gradient in
            [gradient.reshaped([outer, 1, inner]).expanded(to: [outer, length, inner]).reshaped(shape)]
        }
    }

    /// Averages over `axis`, removing it from the shape (differentiable).
    public func mean(alongAxis axis: Int) -> Tensor {
        let length = shape.indices.contains(axis) ? shape[axis] : 1
        guard checkShape(length > 0, "Tensor.mean(alongAxis:): axis \(axis) of shape \(shape) is empty") else {
            return sum(alongAxis: axis)
        }
        return sum(alongAxis: axis) / Float(length)
    }

    /// The maximum over `axis`, removing it from the shape (differentiable: the gradient
    /// goes to the first maximum of each slice).
    public func max(alongAxis axis: Int) -> Tensor {
        guard let (outer, length, inner) = folding(axis, name: "max") else { return Tensor.zeros(Array(shape.dropLast())) }
        guard checkShape(length > 0, "Tensor.max(alongAxis:): axis \(axis) of shape \(shape) is empty") else {
            return Tensor.zeros(shape(removing: axis))
        }
        let positions = firstMaxima(outer: outer, length: length, inner: inner)
        let result = uninitialized(removing: axis)
        let source = storage.pointer, target = result.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner { target[o * inner + i] = source[(o * length + positions[o * inner + i]) * inner + i] }
        }
        let shape = self.shape
        return Tape.record(result, inputs: [self], firstOrderOnly: "Tensor.max(alongAxis:)") { gradient in
            let spread = Tensor(shape: shape, repeating: 0)
            let g = gradient.storage.pointer, d = spread.storage.pointer
            for o in 0..<outer {
                for i in 0..<inner { d[(o * length + positions[o * inner + i]) * inner + i] = g[o * inner + i] }
            }
            return [spread]
        }
    }

    /// The index of the first maximum of each slice along `axis`, in row-major order of the
    /// remaining dimensions (PyTorch's `argmax(dim:)`, flattened). NaN counts as largest.
    public func argmax(alongAxis axis: Int) -> [Int] {
        guard let (outer, length, inner) = folding(axis, name: "argmax") else { return [] }
        guard checkShape(length > 0, "Tensor.argmax(alongAxis:): axis \(axis) of shape \(shape) is empty") else {
            return [Int](repeating: 0, count: outer * inner)
        }
        return firstMaxima(outer: outer, length: length, inner: inner)
    }

    /// The position along the middle axis of the first maximum of each slice of the tensor
    /// viewed as `[outer, length, inner]`, `length` > 0.
    private func firstMaxima(outer: Int, length: Int, inner: Int) -> [Int] {
        let source = storage.pointer
        var positions = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0, bestValue = source[o * length * inner + i]
                for l in 1..<length where !bestValue.isNaN {
                    let value = source[(o * length + l) * inner + i]
                    if value > bestValue || value.isNaN { (best, bestValue) = (l, value) }
                }
                positions[o * inner + i] = best
            }
        }
        return positions
    }

    /// The tensor viewed as `[outer, shape[axis], inner]`; nil for an axis out of range
    /// inside a ``withError(_:)`` scope.
    private func folding(_ axis: Int, name: String) -> (outer: Int, length: Int, inner: Int)? {
        guard checkShape(axis >= 0 && axis < rank, "Tensor.\(name)(alongAxis:): axis \(axis) out of range for shape \(shape)")
        else { return nil }
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// This shape without `axis`.
    private func shape(removing axis: Int) -> [Int] {
        var result = shape
        result.remove(at: axis)
        return result
    }

    /// An uninitialised tensor of this shape without `axis`.
    private func uninitialized(removing axis: Int) -> Tensor {
        Tensor(uninitializedShape: shape(removing: axis))
    }
}
