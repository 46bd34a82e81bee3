import Dispatch
import Foundation

/// Splits loops over the current ``ExecutionContext``'s threads: on ``WorkerPool``'s
/// spinning workers, or with `DispatchQueue.concurrentPerform` when the pool is already
/// busy (loops started on several threads at once).
///
/// Each part of a loop runs in a context of one thread, so that a GEMM or a loop inside
/// it runs on the thread it is on: OpenBLAS's own threads and these workers would
/// otherwise fight over the same cores.
package enum Parallel {
    /// One worker for every core but the caller's.
    static let pool = WorkerPool(workerCount: max(0, CoreBudget.current.threads - 1))

    /// Runs `body(index)` for every index in `0..<count`, in parallel when worthwhile.
    ///
    /// - Parameter grain: the smallest number of indices worth a worker of its own.
    package static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forEachRange(count, grain: grain) { range in
            for index in range { body(index) }
        }
    }

    /// Runs `body(range)` on contiguous slices of `0..<count`, one slice per worker.
    package static func forEachRange(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(ExecutionContext.currentThreads, count / max(grain, 1))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            nonisolated(unsafe) let slice = { (chunk: Int) in
                ExecutionContext.$isInsideParallelPart.withValue(true) {
                    body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
                }
            }
            if chunks <= pool.workerCount + 1 && pool.run(parts: chunks, slice) { return }
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                CorePinning.pinWorkerOnFirstUse()
                slice(chunk)
            }
        }
    }
}
