import Foundation
import Testing
import Tessera

@Suite("BLAS wrappers")
struct GemmTests {
    @Test("gemm equals a naive triple loop for every transpose and padded leading dimensions",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaive(transposeA: Bool, transposeB: Bool) {
        var generator = RandomGenerator(seed: 11)
        for (m, n, k) in [(1, 1, 1), (7, 5, 3), (33, 17, 65), (64, 128, 9)] {
            // Stored shapes, each with 3 extra columns of padding in the leading dimension.
            let aRows = transposeA ? k : m, aColumns = transposeA ? m : k
            let bRows = transposeB ? n : k, bColumns = transposeB ? k : n
            let lda = aColumns + 3, ldb = bColumns + 3, ldc = n + 3
            let a = Tensor.uniform([aRows, lda], low: -1, high: 1, using: &generator).scalars
            let b = Tensor.uniform([bRows, ldb], low: -1, high: 1, using: &generator).scalars
            var c = [Float](repeating: 42, count: m * ldc)
            BLAS.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: ldc)
            let expected = Naive.matmul(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb)
            for i in 0..<m {
                for j in 0..<n {
                    #expect(abs(c[i * ldc + j] - expected[i * n + j]) <= 1e-4 * Float(k), "C[\(i), \(j)] for m=\(m) n=\(n) k=\(k)")
                }
                // The padding columns of C are never written.
                for j in n..<ldc { #expect(c[i * ldc + j] == 42) }
            }
        }
    }

    @Test("gemm with beta = 1 accumulates into C, alpha scales the product")
    func gemmAccumulates() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c: [Float] = [1, 1, 1, 1]
        BLAS.gemm(m: 2, n: 2, k: 2, alpha: 2, a: a, lda: 2, b: b, ldb: 2, beta: 1, c: &c, ldc: 2)
        #expect(c == [39, 45, 87, 101])
    }

    @Test("gemv, axpy, dot and scal agree with hand-computed values")
    func level1And2() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]  // [2, 3]
        var y: [Float] = [0, 0]
        BLAS.gemv(rows: 2, columns: 3, a: a, lda: 3, x: [1, 0, -1], y: &y)
        #expect(y == [-2, -2])
        var yt: [Float] = [0, 0, 0]
        BLAS.gemv(transposeA: true, rows: 2, columns: 3, a: a, lda: 3, x: [1, 1], y: &yt)
        #expect(yt == [5, 7, 9])
        var z: [Float] = [1, 1, 1]
        BLAS.axpy(count: 3, alpha: 2, x: [1, 2, 3], y: &z)
        #expect(z == [3, 5, 7])
        #expect(BLAS.dot(count: 3, x: [1, 2, 3], y: [4, 5, 6]) == 32)
        BLAS.scal(count: 3, alpha: -0.5, x: &z)
        #expect(z == [-1.5, -2.5, -3.5])
    }

    @Test("each GEMM runs on its execution context's threads")
    func threadCount() {
        let a = [Float](repeating: 1, count: 4), b = a
        var c = [Float](repeating: 0, count: 4)
        for threads in [1, 2, 1] {
            withExecutionContext(ExecutionContext(threads: threads)) {
                BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2)
                #expect(BLAS.threadCount == threads)
            }
        }
        #expect(c == [2, 2, 2, 2])
    }

    @Test("OpenBLAS names the core whose kernels it runs, as OPENBLAS_CORETYPE forces it when set")
    func coreName() {
        #expect(!BLAS.coreName.isEmpty && BLAS.coreName != "unknown")
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            #expect(BLAS.coreName.lowercased() == forced.lowercased())
        }
    }
}
