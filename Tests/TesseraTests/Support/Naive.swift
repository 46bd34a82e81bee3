import Tessera

/// Plain-loop reference implementations that the optimised code is checked against.
enum Naive {
    /// `C = op(A) · op(B)` for matrices stored row-major with explicit leading dimensions.
    static func matmul(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: [Float], lda: Int, b: [Float], ldb: Int
    ) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total: Double = 0
                for p in 0..<k {
                    let aValue = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bValue = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    total += Double(aValue) * Double(bValue)
                }
                c[i * n + j] = Float(total)
            }
        }
        return c
    }
}
