import Testing
import Tessera

@Suite("LAPACK wrappers")
struct LinearAlgebraTests {
    var generator = RandomGenerator(seed: 21)

    @Test("solve returns X with A·X = B")
    mutating func solve() throws {
        let a = Tensor.normal([20, 20], using: &generator)
        let b = Tensor.normal([20, 3], using: &generator)
        let x = try LinearAlgebra.solve(a, b)
        #expect(a.matmul(x).maximumAbsoluteDifference(to: b) < 1e-3)
        let vector = try LinearAlgebra.solve(a, Tensor.ones([20]))
        #expect(vector.shape == [20])
    }

    @Test("solve of a singular matrix throws instead of returning garbage")
    func singular() {
        let a = Tensor(shape: [3, 3], scalars: [1, 2, 3, 2, 4, 6, 1, 1, 1])
        #expect(throws: LinearAlgebraError.self) { try LinearAlgebra.solve(a, Tensor.ones([3])) }
        #expect(throws: LinearAlgebraError.shapeMismatch(operation: "solve", detail: "A must be square, got [2, 3]")) {
            try LinearAlgebra.solve(Tensor.zeros([2, 3]), Tensor.ones([2]))
        }
        #expect(throws: LinearAlgebraError.nonFiniteInput(operation: "solve")) {
            try LinearAlgebra.solve(Tensor(shape: [1, 1], scalars: [.nan]), Tensor.ones([1]))
        }
    }

    @Test("least squares residual is orthogonal to the columns of A")
    mutating func leastSquares() throws {
        let a = Tensor.normal([30, 4], using: &generator)
        let b = Tensor.normal([30, 2], using: &generator)
        let x = try LinearAlgebra.leastSquares(a, b)
        #expect(x.shape == [4, 2])
        let normal = a.transposed().matmul(a.matmul(x) - b)
        #expect(normal.maximumAbsoluteDifference(to: Tensor.zeros([4, 2])) < 1e-3)
        // An exactly solvable system is solved exactly.
        let exact = Tensor.normal([4, 1], using: &generator)
        #expect(try LinearAlgebra.leastSquares(a, a.matmul(exact)).maximumAbsoluteDifference(to: exact) < 1e-4)
    }

    @Test("least squares of a rank-deficient matrix throws")
    func rankDeficient() {
        let a = Tensor(shape: [3, 2], scalars: [1, 2, 2, 4, 3, 6])
        #expect(throws: LinearAlgebraError.self) { try LinearAlgebra.leastSquares(a, Tensor.ones([3])) }
    }

    @Test("SVD reconstructs its input with descending singular values", arguments: [[12, 7], [7, 12], [9, 9]])
    func svd(shape: [Int]) throws {
        var generator = RandomGenerator(seed: 5)
        let a = Tensor.normal(shape, using: &generator)
        let (u, s, vt) = try LinearAlgebra.svd(a)
        let r = min(shape[0], shape[1])
        #expect(u.shape == [shape[0], r] && s.shape == [r] && vt.shape == [r, shape[1]])
        let values = s.scalars
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(values.allSatisfy { $0 >= 0 })
        var scaled = u
        for row in 0..<shape[0] { for column in 0..<r { scaled[row, column] *= values[column] } }
        #expect(scaled.matmul(vt).maximumAbsoluteDifference(to: a) < 1e-4)
    }

    @Test("QR gives orthonormal Q and upper-triangular R with Q·R = A", arguments: [[10, 4], [4, 10], [6, 6]])
    func qr(shape: [Int]) throws {
        var generator = RandomGenerator(seed: 6)
        let a = Tensor.normal(shape, using: &generator)
        let (q, r) = try LinearAlgebra.qr(a)
        let k = min(shape[0], shape[1])
        #expect(q.shape == [shape[0], k] && r.shape == [k, shape[1]])
        var identity = Tensor.zeros([k, k])
        for i in 0..<k { identity[i, i] = 1 }
        #expect(q.transposed().matmul(q).maximumAbsoluteDifference(to: identity) < 1e-5)
        #expect(q.matmul(r).maximumAbsoluteDifference(to: a) < 1e-5)
        for row in 0..<k { for column in 0..<row { #expect(r[row, column] == 0) } }
    }
}
