extension Tensor {
    /// The shape that `a` and `b` broadcast to, by NumPy's and PyTorch's rule: shapes are
    /// aligned at their last dimension, and each pair of dimensions must be equal or one of
    /// them 1 (a missing dimension counts as 1).
    public static func broadcastShape(_ a: [Int], _ b: [Int], operation: String = "broadcast") -> [Int] {
        let (shape, fits) = alignedShape(a, b)
        require(fits, broadcastFailure(a, b, operation: operation))
        return shape
    }

    /// The larger of each pair of dimensions of `a` and `b` aligned at their last, and
    /// whether every pair broadcasts (equal, or one of them 1).
    static func alignedShape(_ a: [Int], _ b: [Int]) -> (shape: [Int], fits: Bool) {
        let rank = Swift.max(a.count, b.count)
        let left = [Int](repeating: 1, count: rank - a.count) + a
        let right = [Int](repeating: 1, count: rank - b.count) + b
        let fits = zip(left, right).allSatisfy { l, r in l == r || l == 1 || r == 1 }
        return (zip(left, right).map { l, r in l == 1 ? r : r == 1 ? l : Swift.max(l, r) }, fits)
    }

    static func broadcastFailure(_ a: [Int], _ b: [Int], operation: String) -> String {
        "\(operation): shapes \(a) and \(b) do not broadcast (each dimension, counted from the last, must be equal or 1)"
    }

    /// The tensor repeated along its size-1 (and missing leading) dimensions to `shape`
    /// (differentiable: the gradient is summed back to this shape).
    public func expanded(to shape: [Int]) -> Tensor {
        if shape == self.shape { return self }
        let (common, fits) = Tensor.alignedShape(self.shape, shape)
        guard checkShape(fits && common == shape, "expanded(to:): shape \(self.shape) does not expand to \(shape)") else {
            return Tensor.zeros(shape)
        }
        let result: Tensor
        if count == 1 {
            result = Tensor(shape: shape, repeating: storage.pointer[0])
        } else {
            result = Tensor(uninitializedShape: shape)
            let source = storage.pointer, target = result.storage.pointer
            Tensor.forEachBroadcastOffset(of: self.shape, in: shape) { targetOffset, sourceOffset in
                target[targetOffset] = source[sourceOffset]
            }
        }
        let originalShape = self.shape
        return Tape.record(result, inputs: [self]) { [$0.summed(toShape: originalShape)] }
    }

    /// The sum over the dimensions that ``expanded(to:)`` repeats to reach this shape: the
    /// gradient of an expansion (differentiable).
    public func summed(toShape shape: [Int]) -> Tensor {
        if shape == self.shape { return self }
        let (common, fits) = Tensor.alignedShape(shape, self.shape)
        guard checkShape(fits && common == self.shape, "summed(toShape:): shape \(self.shape) is not an expansion of \(shape)")
        else { return Tensor.zeros(shape) }
        let result = Tensor(shape: shape, repeating: 0)
        let source = storage.pointer, target = result.storage.pointer
        Tensor.forEachBroadcastOffset(of: shape, in: self.shape) { expandedOffset, offset in
            target[offset] += source[expandedOffset]
        }
        let expandedShape = self.shape
        return Tape.record(result, inputs: [self]) { [$0.expanded(to: expandedShape)] }
    }

    /// Calls `body` with every row-major offset of `expanded` and the offset of the element
    /// of `shape` (right-aligned, size-1 dimensions repeated) that it holds.
    private static func forEachBroadcastOffset(of shape: [Int], in expanded: [Int], _ body: (Int, Int) -> Void) {
        let rank = expanded.count
        let aligned = [Int](repeating: 1, count: rank - shape.count) + shape
        var strides = [Int](repeating: 0, count: rank)
        var step = 1
        for axis in (0..<rank).reversed() {
            strides[axis] = aligned[axis] == 1 ? 0 : step
            step *= aligned[axis]
        }
        forEachOffset(of: expanded, strides: strides, body)
    }
}
