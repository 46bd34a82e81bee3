import Tessera

/// The process-wide choices the `tessera` command makes once, before a subcommand runs:
/// OpenBLAS's kernels (the widest the CPU supports, unless `OPENBLAS_CORETYPE` says
/// otherwise), the thread count (the cores that affinity and the cgroup CPU quota allow),
/// and, on two cores, pinned threads.
enum ProcessSetup {
    static func prepare(pinningThreads: Bool) {
        BLASKernels.chooseForCPU()
        Threads.count = CoreBudget.current.threads
        if pinningThreads { Threads.pinToCores() }
    }
}
