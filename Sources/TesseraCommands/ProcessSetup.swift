import Tessera

/// The process-wide choices the `tessera` command makes once, before a subcommand runs:
/// OpenBLAS's kernels (the widest the CPU supports, unless `OPENBLAS_CORETYPE` says
/// otherwise), large blocks kept in glibc's heap, and, on two cores, pinned threads.
enum ProcessSetup {
    static func prepare(pinningThreads: Bool) {
        BLASKernels.chooseForCPU()
        ProcessSettings.keepLargeBlocksInHeap()
        if pinningThreads { ProcessSettings.pinToCores() }
    }
}
