extension BLASKernels {
    /// The largest error ``gemmError()`` may have for kernels to be used. Rounding leaves
    /// errors near 1e-7; wrong kernels, errors near 1.
    public static let tolerance: Float = 1e-4

    /// The largest error of OpenBLAS's sgemm on shapes that take its packed, edge and
    /// multi-threaded paths, every transpose, against a loop in double precision, each
    /// scaled by `Σ|a||b|` of its entry (infinite for a NaN).
    ///
    /// The loop's answers do not depend on the kernels, so they are computed once per
    /// process: each later check (one per kernel load) costs only the sgemm calls.
    public static func gemmError() -> Float {
        var worst: Float = 0
        for problem in checkProblems {
            var c = [Float](repeating: .nan, count: problem.m * problem.n)
            BLAS.gemm(
                transposeA: problem.transposeA, transposeB: problem.transposeB, m: problem.m, n: problem.n, k: problem.k,
                a: problem.a, lda: problem.lda, b: problem.b, ldb: problem.ldb, c: &c, ldc: problem.n)
            for index in c.indices {
                let error = Float(abs(Double(c[index]) - problem.exact[index]) / problem.scale[index])
                worst = error.isNaN ? .infinity : max(worst, error)
            }
        }
        return worst
    }

    /// The problems of ``gemmError()`` with their answers, made on first use.
    private static let checkProblems: [CheckProblem] = {
        var generator = RandomGenerator(seed: 2024)
        return [
            (67, 93, 129, false, false), (128, 96, 80, true, false), (61, 64, 160, false, true),
            (33, 17, 65, true, true), (192, 256, 288, false, false),
        ].map { m, n, k, transposeA, transposeB in
            CheckProblem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, using: &generator)
        }
    }()
}

/// One sgemm of the kernel check: random operands and, from a loop in double precision,
/// each entry of the product and its scale `Σ|a||b|`.
private struct CheckProblem: Sendable {
    let m: Int, n: Int, k: Int
    let transposeA: Bool, transposeB: Bool
    /// The row strides of `a` and `b` as stored (transposed or not).
    let lda: Int, ldb: Int
    let a: [Float], b: [Float]
    let exact: [Double], scale: [Double]

    init(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, using generator: inout RandomGenerator) {
        (self.m, self.n, self.k, self.transposeA, self.transposeB) = (m, n, k, transposeA, transposeB)
        (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
        a = Tensor.uniform([m * k], low: -1, high: 1, using: &generator).scalars
        b = Tensor.uniform([k * n], low: -1, high: 1, using: &generator).scalars
        var exact = [Double](repeating: 0, count: m * n), scale = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let x = Double(transposeA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x * y
                    magnitude += abs(x * y)
                }
                exact[i * n + j] = sum
                scale[i * n + j] = max(magnitude, 1e-30)
            }
        }
        (self.exact, self.scale) = (exact, scale)
    }
}
