import COpenBLAS

/// A factorisation or solve that LAPACK could not complete.
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// `U[pivot, pivot]` of the LU factorisation is exactly zero.
    case singularMatrix(operation: String, pivot: Int)
    /// The least-squares matrix does not have full rank.
    case rankDeficient(operation: String, diagonalIndex: Int)
    /// The SVD's iteration did not converge.
    case didNotConverge(operation: String, superdiagonals: Int)
    /// The operands' shapes do not fit the operation.
    case shapeMismatch(operation: String, detail: String)
    /// An operand holds NaN or infinity.
    case nonFiniteInput(operation: String)
    /// LAPACK rejected an argument (a bug in the wrapper, reported rather than ignored).
    case invalidArgument(operation: String, position: Int)

    public var description: String {
        switch self {
        case let .singularMatrix(operation, pivot):
            return "\(operation): matrix is singular (zero pivot at U[\(pivot), \(pivot)])"
        case let .rankDeficient(operation, index):
            return "\(operation): matrix is rank deficient (negligible diagonal element \(index) of R)"
        case let .didNotConverge(operation, count):
            return "\(operation): did not converge (\(count) superdiagonals failed)"
        case let .shapeMismatch(operation, detail):
            return "\(operation): \(detail)"
        case let .nonFiniteInput(operation):
            return "\(operation): input contains NaN or infinity"
        case let .invalidArgument(operation, position):
            return "\(operation): LAPACK rejected argument \(position)"
        }
    }
}

/// Dense linear algebra on LAPACKE: solve, least squares, SVD, QR.
///
/// Every function works on copies (its arguments are never changed) and throws a
/// ``LinearAlgebraError`` instead of returning garbage when LAPACK reports a failure.
public enum LinearAlgebra {
    /// Solves `A · X = B` for square `A` `[n, n]` and `B` `[n]` or `[n, k]` (LU with pivoting).
    public static func solve(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let operation = "solve"
        guard a.rank == 2, a.shape[0] == a.shape[1] else {
            throw LinearAlgebraError.shapeMismatch(operation: operation, detail: "A must be square, got \(a.shape)")
        }
        let n = a.shape[0]
        guard (b.rank == 1 || b.rank == 2), b.shape[0] == n else {
            throw LinearAlgebraError.shapeMismatch(
                operation: operation, detail: "B must be [\(n)] or [\(n), k] for A \(a.shape), got \(b.shape)")
        }
        try requireFinite(a, b, operation: operation)
        let rightHandSides = b.rank == 1 ? 1 : b.shape[1]
        var factors = a, solution = b
        factors.makeUnique()
        solution.makeUnique()
        var pivots = [Int32](repeating: 0, count: n)
        let info = BLAS.call { LAPACKE_sgesv(
            LAPACK_ROW_MAJOR, Int32(n), Int32(rightHandSides),
            factors.storage.pointer, Int32(n), &pivots,
            solution.storage.pointer, Int32(rightHandSides)) }
        try check(info, operation: operation) { .singularMatrix(operation: operation, pivot: $0 - 1) }
        return solution
    }

    /// The least-squares solution of `A · X ≈ B` for `A` `[m, n]` with `m ≥ n` and full
    /// column rank, and `B` `[m]` or `[m, k]` (QR based).
    ///
    /// Throws ``LinearAlgebraError/rankDeficient(operation:diagonalIndex:)`` when a diagonal
    /// element of R is at most `max(m, n) · ε · max |R[j, j]|` (NumPy's `lstsq` cut-off):
    /// rounding rarely leaves an exact zero there, and which tiny value it leaves depends on
    /// the OpenBLAS kernel.
    public static func leastSquares(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let operation = "leastSquares"
        guard a.rank == 2, a.shape[0] >= a.shape[1] else {
            throw LinearAlgebraError.shapeMismatch(
                operation: operation, detail: "A must be [m, n] with m ≥ n, got \(a.shape)")
        }
        let m = a.shape[0], n = a.shape[1]
        guard (b.rank == 1 || b.rank == 2), b.shape[0] == m else {
            throw LinearAlgebraError.shapeMismatch(
                operation: operation, detail: "B must be [\(m)] or [\(m), k] for A \(a.shape), got \(b.shape)")
        }
        try requireFinite(a, b, operation: operation)
        let rightHandSides = b.rank == 1 ? 1 : b.shape[1]
        var factors = a, work = b.reshaped([m, rightHandSides])
        factors.makeUnique()
        work.makeUnique()
        let info = BLAS.call { LAPACKE_sgels(
            LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "N")), Int32(m), Int32(n), Int32(rightHandSides),
            factors.storage.pointer, Int32(n), work.storage.pointer, Int32(rightHandSides)) }
        try check(info, operation: operation) { .rankDeficient(operation: operation, diagonalIndex: $0 - 1) }
        // sgels leaves R in the upper triangle of the first n rows of A.
        let diagonal = (0..<n).map { abs(factors.storage.pointer[$0 * n + $0]) }
        let cutoff = Float(max(m, n)) * Float.ulpOfOne * (diagonal.max() ?? 0)
        if let index = diagonal.firstIndex(where: { $0 <= cutoff }) {
            throw LinearAlgebraError.rankDeficient(operation: operation, diagonalIndex: index)
        }
        // sgels leaves the solution in the first n rows of B.
        let solution = Tensor(uninitializedShape: b.rank == 1 ? [n] : [n, rightHandSides])
        solution.storage.pointer.update(from: work.storage.pointer, count: n * rightHandSides)
        return solution
    }

    /// The thin singular value decomposition `A = U · diag(S) · Vᵀ` of `A` `[m, n]`:
    /// `U` `[m, r]`, `S` `[r]` in descending order, `Vᵀ` `[r, n]`, with `r = min(m, n)`.
    public static func svd(_ a: Tensor) throws -> (u: Tensor, s: Tensor, vt: Tensor) {
        let operation = "svd"
        guard a.rank == 2 else {
            throw LinearAlgebraError.shapeMismatch(operation: operation, detail: "expected a matrix, got \(a.shape)")
        }
        try requireFinite(a, operation: operation)
        let m = a.shape[0], n = a.shape[1], r = min(m, n)
        var work = a
        work.makeUnique()
        let u = Tensor(uninitializedShape: [m, r])
        let s = Tensor(uninitializedShape: [r])
        let vt = Tensor(uninitializedShape: [r, n])
        let info = BLAS.call { LAPACKE_sgesdd(
            LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "S")), Int32(m), Int32(n),
            work.storage.pointer, Int32(n), s.storage.pointer,
            u.storage.pointer, Int32(r), vt.storage.pointer, Int32(n)) }
        try check(info, operation: operation) { .didNotConverge(operation: operation, superdiagonals: $0) }
        return (u, s, vt)
    }

    /// The thin QR decomposition `A = Q · R` of `A` `[m, n]`: `Q` `[m, r]` with orthonormal
    /// columns and `R` `[r, n]` upper triangular, with `r = min(m, n)`.
    public static func qr(_ a: Tensor) throws -> (q: Tensor, r: Tensor) {
        let operation = "qr"
        guard a.rank == 2 else {
            throw LinearAlgebraError.shapeMismatch(operation: operation, detail: "expected a matrix, got \(a.shape)")
        }
        try requireFinite(a, operation: operation)
        let m = a.shape[0], n = a.shape[1], k = min(m, n)
        var factors = a
        factors.makeUnique()
        var reflectorScales = [Float](repeating: 0, count: max(k, 1))
        try check(
            BLAS.call {
                LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), factors.storage.pointer, Int32(n), &reflectorScales)
            },
            operation: operation) { _ in .invalidArgument(operation: operation, position: 0) }
        // R is the upper triangle of the first k rows.
        let r = Tensor.zeros([k, n])
        for row in 0..<k {
            for column in row..<n {
                r.storage.pointer[row * n + column] = factors.storage.pointer[row * n + column]
            }
        }
        // Q is formed from the reflectors in the first k columns.
        let q = Tensor(uninitializedShape: [m, k])
        for row in 0..<m {
            (q.storage.pointer + row * k).update(from: factors.storage.pointer + row * n, count: k)
        }
        try check(
            BLAS.call {
                LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(k), Int32(k), q.storage.pointer, Int32(k), &reflectorScales)
            },
            operation: operation) { _ in .invalidArgument(operation: operation, position: 0) }
        return (q, r)
    }

    private static func requireFinite(_ tensors: Tensor..., operation: String) throws {
        for tensor in tensors where !tensor.withUnsafeBufferPointer({ $0.allSatisfy(\.isFinite) }) {
            throw LinearAlgebraError.nonFiniteInput(operation: operation)
        }
    }

    /// Turns LAPACK's `info` into an error: negative means a rejected argument, positive
    /// an operation-specific failure.
    private static func check(
        _ info: Int32, operation: String, failure: (Int) -> LinearAlgebraError
    ) throws {
        if info < 0 { throw LinearAlgebraError.invalidArgument(operation: operation, position: Int(-info)) }
        if info > 0 { throw failure(Int(info)) }
    }
}
