import Benchmark
import Tessera

/// sgemm through Tessera's BLAS wrapper; throughput is reported as FLOP per second via
/// the `scaledIterations` counter (one unit = one floating-point operation).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], warmupIterations: 2, maxDuration: .seconds(2))

    // Square sizes, then U-Net conv shapes as (M = Cout, N = H·W, K = 9·Cin).
    let shapes: [(String, Int, Int, Int)] = [
        ("square 256", 256, 256, 256), ("square 1024", 1024, 1024, 1024), ("square 2048", 2048, 2048, 2048),
        ("conv 16x65536x144", 16, 65536, 144), ("conv 32x16384x288", 32, 16384, 288),
        ("conv 64x16384x576", 64, 16384, 576), ("conv 128x4096x1152", 128, 4096, 1152),
    ]
    for (name, m, n, k) in shapes {
        var generator = RandomGenerator(seed: 1)
        let a = Tensor.uniform([m, k], using: &generator).scalars
        let b = Tensor.uniform([k, n], using: &generator).scalars
        nonisolated(unsafe) var c = [Float](repeating: 0, count: m * n)
        Benchmark("sgemm \(name)", configuration: .init(scalingFactor: .one)) { benchmark in
            for _ in benchmark.scaledIterations {
                BLAS.gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
            }
        }
    }
}
