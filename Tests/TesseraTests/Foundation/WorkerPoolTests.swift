import Foundation
import Synchronization
import Testing
import Tessera

@Suite("worker pool and parallel loops")
struct WorkerPoolTests {
    /// Counts, per part, how often a job ran it.
    final class Tally: Sendable {
        let counts: Mutex<[Int]>
        init(_ count: Int) { counts = Mutex([Int](repeating: 0, count: count)) }
        func hit(_ index: Int) { counts.withLock { $0[index] += 1 } }
        var values: [Int] { counts.withLock { $0 } }
    }

    @Test("every part of every job runs exactly once, on spinning and on woken workers")
    func partsRunOnce() throws {
        let pool = WorkerPool(workerCount: 3, spinNanoseconds: 1_000_000)
        let tally = Tally(4)
        var expected = [0, 0, 0, 0]
        for round in 0..<2000 {
            if round % 500 == 499 { Thread.sleep(forTimeInterval: 0.01) }  // past the spin: workers asleep
            let parts = 1 + round % 4
            #expect(pool.run(parts: parts) { tally.hit($0) })
            for part in 0..<parts { expected[part] += 1 }
        }
        #expect(tally.values == expected)
    }

    @Test("a job started from inside a job is refused, so that the caller can run it another way")
    func nestedJobRefused() {
        let pool = WorkerPool(workerCount: 1)
        let nested = Atomic(0)
        #expect(pool.run(parts: 2) { part in
            if part == 0 && !pool.run(parts: 2, { _ in }) { nested.add(1, ordering: .relaxed) }
        })
        #expect(nested.load(ordering: .relaxed) == 1)
    }

    @Test("Parallel.forEach visits every index once, also nested and from several threads at once")
    func parallelLoopsCoverEveryIndex() async {
        let counts = [0, 1, 2, 3, 7, 1000]
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    counts.allSatisfy { count in
                        let tally = Tally(count * 3)
                        Parallel.forEach(count) { index in
                            Parallel.forEach(3) { inner in tally.hit(index * 3 + inner) }
                        }
                        return tally.values.allSatisfy { $0 == 1 }
                    }
                }
            }
            for await covered in group { #expect(covered) }
        }
    }
}
