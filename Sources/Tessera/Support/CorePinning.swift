import Foundation
import Glibc
import Synchronization

/// Gives the threads Tessera computes on fixed cores when the process may use exactly two
/// cores (a rule for two cores only): the thread that asks keeps the first core, and
/// OpenBLAS's worker thread and the workers of ``Parallel`` share the second.
///
/// Between two GEMMs OpenBLAS's idle worker spins on its core (calling `sched_yield`).
/// Left to the scheduler, a worker of a parallel loop may be queued behind the thread
/// doing the loop's other half instead of on the spinner's core, which yields to it, and
/// the loop then runs on one core. Pinned, each loop half has a core of its own
/// (docs/performance.md has the measurements).
package enum CorePinning {
    /// The thread that asked, and the core of every other thread.
    private struct Plan {
        let mainThread: pthread_t
        let workerCore: Int
    }

    private static let plan = Mutex<Plan?>(nil)
    /// Marks a thread as already pinned (a non-nil value).
    private static let pinnedKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Pins the calling thread to the first allowed core and every other thread of the
    /// process to the second; later ``Parallel`` workers follow on first use.
    ///
    /// Only for a process that may use exactly two cores: with more, the threads present
    /// now cannot be told apart, and two of OpenBLAS's workers could end up sharing a core,
    /// so nothing is pinned.
    static func pinCallingThread() {
        let cores = CoreBudget.allowedCoresOfCallingThread()
        guard cores.count == 2 else { return }
        let me = pthread_self()
        plan.withLock { $0 = Plan(mainThread: me, workerCore: cores[1]) }
        pin(thread: 0, to: cores[0])
        let process = getpid()
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for task in tasks.compactMap({ Int32($0) }) where task != process {
            pin(thread: task, to: cores[1])
        }
    }

    /// Pins the calling thread, when it is a worker and not yet pinned, to the worker
    /// core. Cheap when there is nothing to do.
    static func pinWorkerOnFirstUse() {
        guard pthread_getspecific(pinnedKey) == nil else { return }
        let core: Int? = plan.withLock { plan in
            guard let plan, pthread_equal(plan.mainThread, pthread_self()) == 0 else { return nil }
            return plan.workerCore
        }
        guard let core else { return }
        pin(thread: 0, to: core)
        pthread_setspecific(pinnedKey, UnsafeRawPointer(bitPattern: 1))
    }

    /// Restricts thread `thread` (0: the calling thread) to `core`.
    package static func pin(thread: Int32, to core: Int) {
        var mask = [UInt64](repeating: 0, count: 16)
        mask[core / 64] = 1 << UInt64(core % 64)
        _ = mask.withUnsafeBytes { setAffinity(thread, $0.count, $0.baseAddress!) }
    }
}

@_silgen_name("sched_setaffinity")
private func setAffinity(_ thread: Int32, _ size: Int, _ mask: UnsafeRawPointer) -> Int32
