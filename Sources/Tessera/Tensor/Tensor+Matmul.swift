extension Tensor {
    /// Matrix product on OpenBLAS sgemm.
    ///
    /// - `[M, K] · [K, N] → [M, N]`
    /// - `[B, M, K] · [B, K, N] → [B, M, N]` (one GEMM per batch entry)
    /// - `[B, M, K] · [K, N] → [B, M, N]` (the right matrix is shared)
    public func matmul(_ other: Tensor) -> Tensor {
        switch (rank, other.rank) {
        case (2, 2):
            return Tensor.batchedProduct(self, other, batch: 1, sharedRight: true)
        case (3, 3):
            precondition(
                shape[0] == other.shape[0],
                "matmul: batch sizes differ: \(shape) · \(other.shape)")
            return Tensor.batchedProduct(self, other, batch: shape[0], sharedRight: false)
        case (3, 2):
            return Tensor.batchedProduct(self, other, batch: shape[0], sharedRight: true)
        default:
            preconditionFailure("matmul: expected ranks 2·2, 3·3 or 3·2, got \(shape) · \(other.shape)")
        }
    }

    private static func batchedProduct(_ lhs: Tensor, _ rhs: Tensor, batch: Int, sharedRight: Bool) -> Tensor {
        let m = lhs.shape[lhs.rank - 2], k = lhs.shape[lhs.rank - 1]
        let rhsK = rhs.shape[rhs.rank - 2], n = rhs.shape[rhs.rank - 1]
        precondition(k == rhsK, "matmul: inner dimensions differ: \(lhs.shape) · \(rhs.shape)")
        let resultShape = lhs.rank == 2 ? [m, n] : [batch, m, n]
        let result = Tensor(uninitializedShape: resultShape)
        for b in 0..<batch {
            // Row-major C[M, N] = A[M, K] · B[K, N].
            BLAS.gemm(
                m: m, n: n, k: k,
                a: lhs.storage.pointer + b * m * k, lda: k,
                b: rhs.storage.pointer + (sharedRight ? 0 : b * k * n), ldb: n,
                c: result.storage.pointer + b * m * n, ldc: n)
        }
        return result
    }

    /// The transpose of a matrix: `[M, N] → [N, M]`.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed: expected a matrix, got shape \(shape)")
        let rows = shape[0], columns = shape[1]
        let result = Tensor(uninitializedShape: [columns, rows])
        let source = storage.pointer, target = result.storage.pointer
        for r in 0..<rows {
            for c in 0..<columns {
                target[c * rows + r] = source[r * columns + c]
            }
        }
        return result
    }
}
