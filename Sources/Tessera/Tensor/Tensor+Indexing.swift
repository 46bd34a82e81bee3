extension Tensor {
    /// The entries `range` of the first dimension, as PyTorch's `x[a:b]` (differentiable:
    /// the gradient is zero outside the range). Copies.
    public subscript(_ range: Range<Int>) -> Tensor {
        guard checkShape(rank >= 1, "Tensor[\(range)]: a tensor of shape [] has no rows"),
              checkShape(
                  range.lowerBound >= 0 && range.upperBound <= shape[0],
                  "Tensor[\(range.lowerBound)..<\(range.upperBound)]: out of range for shape \(shape)")
        else { return Tensor.zeros([range.count] + shape.dropFirst()) }
        return rows(at: Array(range))
    }

    /// The entries `indices` of the first dimension in that order, repeats allowed, as
    /// PyTorch's `index_select(0, indices)` (differentiable: repeated rows add their
    /// gradients). Copies.
    public func rows(at indices: [Int]) -> Tensor {
        guard checkShape(rank >= 1, "Tensor.rows(at:): a tensor of shape [] has no rows") else { return Tensor.zeros([indices.count]) }
        for index in indices {
            guard checkShape(index >= 0 && index < shape[0], "Tensor.rows(at:): row \(index) out of range for shape \(shape)")
            else { return Tensor.zeros([indices.count] + shape.dropFirst()) }
        }
        let rowLength = count / Swift.max(shape[0], 1)
        var resultShape = shape
        resultShape[0] = indices.count
        let result = Tensor(uninitializedShape: resultShape)
        let source = storage.pointer, target = result.storage.pointer
        for (position, index) in indices.enumerated() {
            (target + position * rowLength).update(from: source + index * rowLength, count: rowLength)
        }
        let shape = self.shape
        return Tape.record(result, inputs: [self], firstOrderOnly: "Tensor.rows(at:)") { gradient in
            let spread = Tensor(shape: shape, repeating: 0)
            let g = gradient.storage.pointer, d = spread.storage.pointer
            for (position, index) in indices.enumerated() {
                for offset in 0..<rowLength { d[index * rowLength + offset] += g[position * rowLength + offset] }
            }
            return [spread]
        }
    }

    /// The dimensions reordered: dimension `i` of the result is dimension `axes[i]` of this
    /// tensor, as PyTorch's `permute` (differentiable). Copies.
    public func permuted(_ axes: [Int]) -> Tensor {
        guard checkShape(
            axes.sorted() == Array(0..<rank),
            "Tensor.permuted(\(axes)): expected an ordering of the axes 0..<\(rank) of shape \(shape)")
        else { return Tensor.zeros(shape) }
        if axes == Array(0..<rank) { return self }
        let resultShape = axes.map { shape[$0] }
        var sourceStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { sourceStrides[axis] = sourceStrides[axis + 1] * shape[axis + 1] }
        let strides = axes.map { sourceStrides[$0] }
        let result = Tensor(uninitializedShape: resultShape)
        let source = storage.pointer, target = result.storage.pointer
        Tensor.forEachOffset(of: resultShape, strides: strides) { offset, sourceOffset in target[offset] = source[sourceOffset] }
        var inverse = [Int](repeating: 0, count: rank)
        for (position, axis) in axes.enumerated() { inverse[axis] = position }
        return Tape.record(result, inputs: [self]) { [$0.permuted(inverse)] }
    }

    /// The tensor with all dimensions from `startAxis` on merged into one, as PyTorch's
    /// `flatten(start_dim:)` (differentiable; never copies).
    public func flattened(fromAxis startAxis: Int = 0) -> Tensor {
        guard checkShape(
            startAxis >= 0 && startAxis < Swift.max(rank, 1),
            "Tensor.flattened(fromAxis: \(startAxis)): axis out of range for shape \(shape)")
        else { return Tensor.zeros([count]) }
        return reshaped(Array(shape[..<startAxis]) + [shape[startAxis...].reduce(1, *)])
    }

    /// Calls `body` with every row-major offset of `shape` and the offset `Σ index·stride`
    /// of the same index under `strides` (a permuted or broadcast view of other storage).
    static func forEachOffset(of shape: [Int], strides: [Int], _ body: (Int, Int) -> Void) {
        let rank = shape.count
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        let innermost = rank == 0 ? 1 : shape[rank - 1]
        let innerStride = rank == 0 ? 0 : strides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var sourceOffset = 0
        var offset = 0
        while offset < count {
            for position in 0..<innermost { body(offset + position, sourceOffset + position * innerStride) }
            offset += innermost
            // Advance the odometer over the outer dimensions.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                sourceOffset += strides[axis]
                if index[axis] < shape[axis] { break }
                sourceOffset -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
