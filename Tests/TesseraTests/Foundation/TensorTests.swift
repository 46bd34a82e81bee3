import Testing
import Tessera

@Suite("Tensor")
struct TensorTests {
    @Test("creation functions fill shapes as asked")
    func creation() {
        #expect(Tensor.zeros([2, 3]).scalars == [Float](repeating: 0, count: 6))
        #expect(Tensor.ones([4]).sum().scalar == 4)
        #expect(Tensor.full([2, 2], value: 2.5).scalars == [2.5, 2.5, 2.5, 2.5])
        #expect(Tensor.arange(4, start: 1, step: 0.5).scalars == [1, 1.5, 2, 2.5])
        let t = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(t[1, 0] == 3)
        #expect(t.rank == 2 && t.count == 4)
    }

    @Test("copies are independent: writing one never changes the other (copy-on-write)")
    func copyOnWrite() {
        let original = Tensor.arange(6).reshaped([2, 3])
        var copy = original
        copy[0, 0] = 100
        #expect(original[0, 0] == 0)
        #expect(copy[0, 0] == 100)
        var viaBuffer = original
        viaBuffer.withUnsafeMutableBufferPointer { $0[5] = -1 }
        #expect(original[1, 2] == 5)
    }

    @Test("reshaped keeps the elements in order")
    func reshape() {
        let t = Tensor.arange(6).reshaped([3, 2])
        #expect(t.shape == [3, 2])
        #expect(t[2, 1] == 5)
    }

    @Test("the same seed gives the same numbers; another seed does not")
    func seededRandom() {
        var g1 = RandomGenerator(seed: 3), g2 = RandomGenerator(seed: 3), g3 = RandomGenerator(seed: 4)
        let a = Tensor.normal([100], using: &g1), b = Tensor.normal([100], using: &g2), c = Tensor.normal([100], using: &g3)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("uniform and normal samples have the requested moments")
    func randomMoments() {
        var generator = RandomGenerator(seed: 5)
        let u = Tensor.uniform([100_000], low: -2, high: 4, using: &generator)
        #expect(abs(u.mean().scalar - 1) < 0.03)
        #expect(u.max().scalar < 4)
        let n = Tensor.normal([100_000], mean: 3, standardDeviation: 2, using: &generator)
        #expect(abs(n.mean().scalar - 3) < 0.03)
        let variance = ((n - 3) * (n - 3)).mean().scalar
        #expect(abs(variance - 4) < 0.1)
    }

    @Test("elementwise arithmetic with tensors and scalars")
    func arithmetic() {
        let a = Tensor([1, 2, 3]), b = Tensor([4, 5, 6])
        #expect((a + b).scalars == [5, 7, 9])
        #expect((b - a).scalars == [3, 3, 3])
        #expect((a * b).scalars == [4, 10, 18])
        #expect((b / a).scalars == [4, 2.5, 2])
        #expect((a * 2 + 1).scalars == [3, 5, 7])
        #expect((-a).scalars == [-1, -2, -3])
    }

    @Test("reductions along an axis remove that axis")
    func reductions() {
        let t = Tensor.arange(24).reshaped([2, 3, 4])
        #expect(t.sum().scalar == 276)
        #expect(t.sum(alongAxis: 0).shape == [3, 4])
        #expect(t.sum(alongAxis: 0)[0, 0] == 12)
        #expect(t.mean(alongAxis: 1)[1, 2] == 18)
        #expect(t.max(alongAxis: 2).scalars == [3, 7, 11, 15, 19, 23])
        #expect(t.mean().scalar == 11.5)
        #expect(t.max().scalar == 23)
    }

    @Test("matmul of matrices and batches equals the naive product")
    func matmul() {
        var generator = RandomGenerator(seed: 9)
        let a = Tensor.normal([3, 4, 5], using: &generator)
        let b = Tensor.normal([3, 5, 2], using: &generator)
        let shared = Tensor.normal([5, 2], using: &generator)
        let batched = a.matmul(b), sharedProduct = a.matmul(shared)
        #expect(batched.shape == [3, 4, 2])
        for batch in 0..<3 {
            for i in 0..<4 {
                for j in 0..<2 {
                    var expected: Float = 0, expectedShared: Float = 0
                    for p in 0..<5 {
                        expected += a[batch, i, p] * b[batch, p, j]
                        expectedShared += a[batch, i, p] * shared[p, j]
                    }
                    #expect(abs(batched[batch, i, j] - expected) < 1e-4)
                    #expect(abs(sharedProduct[batch, i, j] - expectedShared) < 1e-4)
                }
            }
        }
        let m = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(m.matmul(m).scalars == [7, 10, 15, 22])
    }

    @Test("transposed swaps rows and columns")
    func transpose() {
        let t = Tensor.arange(6).reshaped([2, 3]).transposed()
        #expect(t.shape == [3, 2])
        #expect(t.scalars == [0, 3, 1, 4, 2, 5])
    }

    @Test("approximate equality respects the tolerance and the shape")
    func approximateEquality() {
        let a = Tensor([1, 2, 3])
        #expect(a.isApproximatelyEqual(to: a + 1e-6))
        #expect(!a.isApproximatelyEqual(to: a + 1e-2))
        #expect(!a.isApproximatelyEqual(to: a.reshaped([3, 1])))
        #expect(!a.isApproximatelyEqual(to: Tensor([1, 2, .nan])))
    }

    @Test("description shows nested values and elides long dimensions")
    func description() {
        #expect(Tensor.arange(4).reshaped([2, 2]).description == "Tensor([[0, 1], [2, 3]], shape: [2, 2])")
        #expect(Tensor.arange(10).description == "Tensor([0, 1, 2, …, 7, 8, 9], shape: [10])")
    }

    @Test("a freed large buffer is handed to the next request of its size; live buffers never alias")
    func bufferReuse() {
        let bytes = 4 * 123_457
        let pool = BufferPool()
        let first = pool.allocate(byteCount: bytes, alignment: 64)
        let second = pool.allocate(byteCount: bytes, alignment: 64)
        #expect(first != second)
        #expect(Int(bitPattern: first) % 64 == 0 && Int(bitPattern: second) % 64 == 0)
        pool.deallocate(first, byteCount: bytes)
        let third = pool.allocate(byteCount: bytes, alignment: 64)
        #expect(third == first)
        pool.deallocate(second, byteCount: bytes)
        pool.deallocate(third, byteCount: bytes)

        var a = Tensor(shape: [123_456], repeating: 1)
        let b = a
        a[0] = 2
        #expect(b[0] == 1 && a[0] == 2)
    }

    @Test("the pool keeps at most 1/16 more bytes mapped than tensors ever used at once, unmapping cached buffers for new sizes")
    func footprintLimit() {
        let megabyte = 1 << 20
        let pool = BufferPool(minimumCacheBytes: 0)
        let a = pool.allocate(byteCount: megabyte, alignment: 64), b = pool.allocate(byteCount: megabyte, alignment: 64)
        pool.deallocate(a, byteCount: megabyte)
        pool.deallocate(b, byteCount: megabyte)
        // Two cached 1 MiB buffers; a 2 MiB request would make 4 MiB mapped for a peak
        // of 2 MiB in use, so both cached buffers go.
        let c = pool.allocate(byteCount: 2 * megabyte, alignment: 64)
        #expect(pool.peaks.inUse == 2 * megabyte)
        #expect(pool.peaks.footprint <= 2 * megabyte + 2 * megabyte / 16)
        pool.deallocate(c, byteCount: 2 * megabyte)
        #expect(pool.allocate(byteCount: 2 * megabyte, alignment: 64) == c)

        let roomy = BufferPool(minimumCacheBytes: 16 * megabyte)
        let d = roomy.allocate(byteCount: megabyte, alignment: 64)
        roomy.deallocate(d, byteCount: megabyte)
        _ = roomy.allocate(byteCount: 2 * megabyte, alignment: 64)
        #expect(roomy.peaks.footprint == 3 * megabyte)
        #expect(roomy.allocate(byteCount: megabyte, alignment: 64) == d)
    }
}
