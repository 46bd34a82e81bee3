extension Tensor {
    /// Matrix product on OpenBLAS sgemm (differentiable).
    ///
    /// - `[M, K] · [K, N] → [M, N]`
    /// - `[B, M, K] · [B, K, N] → [B, M, N]` (one GEMM per batch entry)
    /// - `[B, M, K] · [K, N] → [B, M, N]` (the right matrix is shared)
    /// - `[M, K] · [K] → [M]` and `[K] · [K, N] → [N]` (a vector, as PyTorch's `matmul`)
    public func matmul(_ other: Tensor) -> Tensor {
        switch (rank, other.rank) {
        case (2, 1):
            return matmul(other.reshaped([other.count, 1])).reshaped([shape[0]])
        case (1, 2):
            return reshaped([1, count]).matmul(other).reshaped([other.shape[1]])
        case (2, 2), (3, 3):
            let (m, k, otherK, n) = (shape[rank - 2], shape[rank - 1], other.shape[rank - 2], other.shape[rank - 1])
            guard checkShape(rank == 2 || shape[0] == other.shape[0], "matmul: batch sizes differ: \(shape) · \(other.shape)"),
                  checkShape(k == otherK, "matmul: inner dimensions differ: \(shape) · \(other.shape)")
            else { return Tensor.zeros(rank == 2 ? [m, n] : [shape[0], m, n]) }
            return Tape.record(Tensor.product(self, other), inputs: [self, other]) { [self] gradient in
                // C = A·B ⇒ dA = dC·Bᵀ, dB = Aᵀ·dC (per batch entry); recorded when a nested
                // scope replays it, else straight on sgemm.
                guard Tape.active == nil else { return [gradient.matmul(other.transposed()), transposed().matmul(gradient)] }
                return [Tensor.product(gradient, other, transposeRight: true), Tensor.product(self, gradient, transposeLeft: true)]
            }
        case (3, 2):
            return reshaped([shape[0] * shape[1], shape[2]]).matmul(other).reshaped([shape[0], shape[1], other.shape[1]])
        default:
            _ = checkShape(false, "matmul: expected ranks 2·2, 3·3, 3·2, 2·1 or 1·2, got \(shape) · \(other.shape)")
            return Tensor.zeros(shape)
        }
    }

    /// `op(lhs) · op(rhs)` for matrices or equally batched stacks of them.
    static func product(_ lhs: Tensor, _ rhs: Tensor, transposeLeft: Bool = false, transposeRight: Bool = false) -> Tensor {
        let batched = lhs.rank == 3
        let batch = batched ? lhs.shape[0] : 1
        let (lhsRows, lhsColumns) = (lhs.shape[lhs.rank - 2], lhs.shape[lhs.rank - 1])
        let (rhsRows, rhsColumns) = (rhs.shape[rhs.rank - 2], rhs.shape[rhs.rank - 1])
        let m = transposeLeft ? lhsColumns : lhsRows, k = transposeLeft ? lhsRows : lhsColumns
        let rhsK = transposeRight ? rhsColumns : rhsRows, n = transposeRight ? rhsRows : rhsColumns
        require(k == rhsK, "matmul: inner dimensions differ: \(lhs.shape) · \(rhs.shape)")
        let result = Tensor(uninitializedShape: batched ? [batch, m, n] : [m, n])
        for b in 0..<batch {
            BLAS.gemm(
                transposeA: transposeLeft, transposeB: transposeRight, m: m, n: n, k: k,
                a: lhs.storage.pointer + b * m * k, lda: lhsColumns,
                b: rhs.storage.pointer + b * k * n, ldb: rhsColumns,
                c: result.storage.pointer + b * m * n, ldc: n)
        }
        return result
    }

    /// The transpose of a matrix, `[M, N] → [N, M]`, or of each matrix of a stack,
    /// `[…, M, N] → […, N, M]` (PyTorch's `mT`; differentiable).
    public func transposed() -> Tensor {
        guard checkShape(rank >= 2, "transposed: expected a matrix or a stack of matrices, got shape \(shape)") else {
            return Tensor.zeros(shape)
        }
        if rank > 2 { return permuted(Array(0..<(rank - 2)) + [rank - 1, rank - 2]) }
        let rows = shape[0], columns = shape[1]
        let result = Tensor(uninitializedShape: [columns, rows])
        let source = storage.pointer, target = result.storage.pointer
        for r in 0..<rows {
            for c in 0..<columns {
                target[c * rows + r] = source[r * columns + c]
            }
        }
        return Tape.record(result, inputs: [self]) { [$0.transposed()] }
    }
}
