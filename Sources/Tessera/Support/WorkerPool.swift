import Foundation
import Glibc
import Synchronization

/// The threads behind ``Parallel``: one fewer than the cores, waiting for work by spinning
/// (yielding the core between looks) for a short while after each job, then asleep.
///
/// A convolution alternates parallel loops (im2col, col2im) with OpenBLAS GEMMs many times
/// per layer. Handing each loop to `DispatchQueue.concurrentPerform` means waking a
/// worker while OpenBLAS's spinning worker yields its core to it and back (docs/
/// performance.md has the cost); a worker that is already looking for work starts at
/// once. It yields, as OpenBLAS's idle worker does, so the two never hold a core from each
/// other for long.
package final class WorkerPool: @unchecked Sendable {
    package let workerCount: Int
    /// How long a worker keeps looking for work after its last job before it sleeps.
    let spinNanoseconds: UInt64
    /// Bumped once per job; a worker runs each job it has not yet seen.
    private let generation = Atomic<Int>(0)
    /// Workers that have not yet finished (or skipped) the current job.
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let wakeUpMutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// The current job, written before `generation` is bumped and read after it is seen.
    private nonisolated(unsafe) var job: (parts: Int, body: (Int) -> Void)?

    /// Starts `workerCount` threads, which live as long as the process.
    package init(workerCount: Int, spinNanoseconds: UInt64 = 2_000_000) {
        self.workerCount = workerCount
        self.spinNanoseconds = spinNanoseconds
        pthread_mutex_init(wakeUpMutex, nil)
        pthread_cond_init(wakeUp, nil)
        for index in 0..<workerCount {
            let thread = Thread { self.work(part: index + 1) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body(part)` for every part in `0..<parts` (at most `workerCount + 1`), part 0
    /// on the calling thread, and returns when all are done. Returns false without running
    /// anything when the pool is already running a job (a nested or concurrent call).
    package func run(parts: Int, _ body: (Int) -> Void) -> Bool {
        precondition(parts <= workerCount + 1)
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        withoutActuallyEscaping(body) { body in
            job = (parts, body)
            pending.store(workerCount, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(wakeUpMutex)
                pthread_cond_broadcast(wakeUp)
                pthread_mutex_unlock(wakeUpMutex)
            }
            body(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > 64 { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func work(part: Int) {
        var seen = 0
        while true {
            seen = waitForJob(after: seen)
            CorePinning.pinWorkerOnFirstUse()
            runCurrentJob(part: part)
            pending.subtract(1, ordering: .releasing)
        }
    }

    /// Runs `part` of the current job, if it has one. Not inlined, so that the worker's
    /// reference to the job's body is gone before it reports the part done: `run` checks,
    /// as soon as every part is done, that the body did not escape.
    @inline(never)
    private func runCurrentJob(part: Int) {
        if let job, part < job.parts { job.body(part) }
    }

    /// Spins, then sleeps, until a job newer than generation `seen` is posted; returns its
    /// generation.
    private func waitForJob(after seen: Int) -> Int {
        let spinUntil = DispatchTime.now().uptimeNanoseconds + spinNanoseconds
        var looks = 0
        while true {
            let current = generation.load(ordering: .acquiring)
            if current != seen { return current }
            looks += 1
            if looks % 64 == 0 && DispatchTime.now().uptimeNanoseconds > spinUntil { break }
            sched_yield()
        }
        pthread_mutex_lock(wakeUpMutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen {
            pthread_cond_wait(wakeUp, wakeUpMutex)
        }
        sleepers.subtract(1, ordering: .relaxed)
        pthread_mutex_unlock(wakeUpMutex)
        return generation.load(ordering: .acquiring)
    }
}
