import Dispatch
import Foundation

/// Splits loops over both cores with `DispatchQueue.concurrentPerform`.
///
/// Work inside these loops must not call a multi-threaded GEMM: OpenBLAS's own threads
/// and these workers would fight over the same two cores.
enum Parallel {
    /// The number of workers a parallel loop uses.
    nonisolated(unsafe) static var workerCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(index)` for every index in `0..<count`, in parallel when worthwhile.
    ///
    /// - Parameter grain: the smallest number of indices worth a worker of its own.
    static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        let chunks = min(workerCount, count / max(grain, 1))
        if chunks <= 1 {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                CorePinning.pinWorkerOnFirstUse()
                let start = count * chunk / chunks, end = count * (chunk + 1) / chunks
                for index in start..<end { body(index) }
            }
        }
    }

    /// Runs `body(range)` on contiguous slices of `0..<count`, one slice per worker.
    static func forEachRange(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(workerCount, count / max(grain, 1))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                CorePinning.pinWorkerOnFirstUse()
                body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
            }
        }
    }
}
