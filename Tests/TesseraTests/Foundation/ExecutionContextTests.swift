import Dispatch
import Synchronization
import Testing
import Tessera

@Suite("ExecutionContext: threads and tuning per task, nothing process-wide")
struct ExecutionContextTests {
    @Test("the machine's context outside, the given one inside, the outer one again after")
    func scoping() {
        #expect(ExecutionContext.current.threads == CoreBudget.current.threads)
        let tuning = KernelTuning(coreTileElements: 4096, sharedTileElements: 8192, columnPadding: 0)
        withExecutionContext(ExecutionContext(threads: 1, tuning: tuning)) {
            #expect(ExecutionContext.current == ExecutionContext(threads: 1, tuning: tuning))
            withExecutionContext(ExecutionContext(threads: 3)) { #expect(ExecutionContext.current.threads == 3) }
            #expect(ExecutionContext.current.threads == 1)
        }
        #expect(ExecutionContext.current == .machine)
    }

    @Test("the kernels cut their work by the context: its threads and tile sizes")
    func kernelsFollowTheContext() {
        let (input, weight) = ([4, 16, 64, 64], [16, 16, 3, 3])
        let small = KernelTuning(coreTileElements: 16 * 9 * 256, sharedTileElements: 16 * 9 * 512, columnPadding: 0)
        func widths(threads: Int, tuning: KernelTuning) -> [Int] {
            withExecutionContext(ExecutionContext(threads: threads, tuning: tuning)) {
                Convolution2D.tileWidths(inputShape: input, weightShape: weight, padding: 1, pass: .forward)
            }
        }
        let wide = KernelTuning(coreTileElements: 1 << 30, sharedTileElements: 1 << 30, columnPadding: 0)
        #expect(widths(threads: 1, tuning: wide) == [4 * 64 * 64])
        #expect(widths(threads: 2, tuning: wide) == [2 * 64 * 64, 2 * 64 * 64])
        let tiles = widths(threads: 1, tuning: small)  // shared tiles of at most 16·9·512 floats
        #expect(tiles.count >= 32 && tiles.allSatisfy { $0 <= 512 }, "\(tiles)")
    }

    @Test("a tile's columns hold at least as many floats as the weights its GEMM streams")
    func tilesAmortizeTheWeights() {
        // 128 × 64·3·3 = 73 728 weight floats against tiles of 4096 (per core) or 8192
        // (shared) column floats, 576 rows each: without the rule, 16² would be cut into
        // single rows; with it, each tile holds ≥ 128 pixels.
        let (input, weight) = ([1, 64, 16, 16], [128, 64, 3, 3])
        let small = KernelTuning(coreTileElements: 4096, sharedTileElements: 8192, columnPadding: 0)
        for threads in [1, 2] {
            let tiles = withExecutionContext(ExecutionContext(threads: threads, tuning: small)) {
                Convolution2D.tileWidths(inputShape: input, weightShape: weight, padding: 1, pass: .forward)
            }
            #expect(tiles == [128, 128], "\(threads) threads: \(tiles)")
        }
        let fewWeights = withExecutionContext(ExecutionContext(threads: 1, tuning: small)) {
            Convolution2D.tileWidths(inputShape: input, weightShape: [4, 64, 3, 3], padding: 1, pass: .forward)
        }
        #expect(fewWeights.count == 16 && fewWeights.allSatisfy { $0 == 16 }, "\(fewWeights)")
    }

    @Test("two tasks with different thread counts convolve at once and get what each gets alone")
    func concurrentContexts() {
        var generator = RandomGenerator(seed: 21)
        let x = Tensor.normal([2, 8, 48, 48], using: &generator)
        let weight = Tensor.normal([8, 8, 3, 3], using: &generator)
        @Sendable func convolve() -> (Tensor, Tensor) {
            let y = Convolution2D.forward(input: x, weight: weight, padding: 1)
            return (y, Convolution2D.backwardWeight(gradientOfOutput: y, input: x, weightShape: weight.shape, padding: 1))
        }
        let contexts = [ExecutionContext(threads: 1), ExecutionContext(threads: 2)]
        let alone = contexts.map { withExecutionContext($0, convolve) }
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            withExecutionContext(contexts[index]) {
                for _ in 0..<20 {
                    let (y, dw) = convolve()
                    if y.scalars != alone[index].0.scalars || dw.scalars != alone[index].1.scalars {
                        mismatches.withLock { $0 += 1 }
                    }
                }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }
}
